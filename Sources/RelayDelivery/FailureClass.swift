import RelayJournal

/// How a failed delivery is treated; the one decision every destination shares.
///
/// The table follows Graph's error reference and Meta's CAPI guidance (see the README's
/// "Error classes"): retry what may go away by itself, isolate what one event caused, stop
/// for what only a person can fix, and never retry the rest blindly.
public enum FailureClass: String, Sendable, CaseIterable {
    /// Outages, throttling, timeouts, connection errors: retried with backoff and jitter.
    case transient
    /// The request was refused for what is in it (Graph code 100): one invalid event rejects
    /// Meta's whole batch, so the batch is split until the bad events stand alone.
    case invalidEvents = "invalid_events"
    /// The token (Graph 190 or 102) or, for the CRM, the signature secret (HTTP 401) is
    /// refused: every request would fail the same way, so the destination pauses until a
    /// config reload brings new credentials.
    case badCredentials = "bad_credentials"
    /// Anything else that sending again unchanged cannot fix: the events become dead letters.
    case permanent
}

/// What went wrong with one request, condensed for the decision and for the dead letter.
public struct DeliveryFailure: Sendable, Equatable {
    public var failureClass: FailureClass
    /// Nil when no HTTP response arrived.
    public var httpStatus: Int?
    public var graphCode: Int?
    public var graphSubcode: Int?
    /// Meta's message, or the transport's ("timed out"); never a URL or a token.
    public var message: String
    /// The destination's Retry-After, in seconds.
    public var retryAfterSeconds: Double?

    public init(
        failureClass: FailureClass, httpStatus: Int?, graphCode: Int? = nil,
        graphSubcode: Int? = nil, message: String, retryAfterSeconds: Double? = nil
    ) {
        self.failureClass = failureClass
        self.httpStatus = httpStatus
        self.graphCode = graphCode
        self.graphSubcode = graphSubcode
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Graph codes the error reference says to wait and retry: unknown and service errors,
    /// the app, user, application and ad-account rate limits, the temporary policy block.
    public static let transientGraphCodes: Set<Int> = [1, 2, 4, 17, 32, 341, 368, 613, 80004]
    /// Codes that mean the token is invalid or expired.
    public static let badTokenGraphCodes: Set<Int> = [102, 190]

    /// Classifies a Graph API answer that was not a 2xx.
    ///
    /// A Graph code, when the body has one, decides: Graph answers throttling with 400 and
    /// some outages with 500, so the status alone would mislead. Without a body the status
    /// decides: 5xx, 408 and 429 are transient, any other status is permanent.
    public static func graph(status: Int, body: [UInt8], retryAfter: String?) -> DeliveryFailure {
        let error = GraphError.parse(body)
        let failureClass: FailureClass
        switch error?.code {
        case let code? where transientGraphCodes.contains(code):
            failureClass = .transient
        case let code? where badTokenGraphCodes.contains(code):
            failureClass = .badCredentials
        // 100/33: the dataset does not exist or the token may not post to it; every event of
        // the dataset would fail alike, so splitting the batch cannot isolate anything.
        case 100? where error?.subcode == 33:
            failureClass = .permanent
        case 100?:
            failureClass = .invalidEvents
        case .some:
            failureClass = error?.isTransient == true ? .transient : .permanent
        case nil:
            failureClass = byStatus(status)
        }
        return DeliveryFailure(
            failureClass: failureClass, httpStatus: status, graphCode: error?.code,
            graphSubcode: error?.subcode,
            message: error?.message ?? "http status \(status)",
            retryAfterSeconds: RetryPolicy.retryAfterSeconds(retryAfter))
    }

    /// Classifies a CRM answer that was not a 2xx: 401 means the CRM refuses the relay's
    /// signature (a wrong secret), which pauses the sink like a bad token pauses CAPI.
    public static func crm(status: Int, retryAfter: String?) -> DeliveryFailure {
        DeliveryFailure(
            failureClass: status == 401 ? .badCredentials : byStatus(status), httpStatus: status,
            message: "crm answered http status \(status)",
            retryAfterSeconds: RetryPolicy.retryAfterSeconds(retryAfter))
    }

    /// A request that got no HTTP answer: always transient.
    public static func transport(_ failure: TransportFailure) -> DeliveryFailure {
        DeliveryFailure(failureClass: .transient, httpStatus: nil, message: failure.message)
    }

    private static func byStatus(_ status: Int) -> FailureClass {
        status >= 500 || status == 408 || status == 429 ? .transient : .permanent
    }

    /// A short code for the dead letter, for `resend --reason` and metric labels: `graph_100`,
    /// `http_404`, `transport`.
    public var reasonCode: String {
        if let graphCode { return "graph_\(graphCode)" }
        if let httpStatus { return "http_\(httpStatus)" }
        return DeadLetterReason.transportCode
    }

    /// One line for the journal, the log and the feed.
    public var summary: String {
        var parts: [String] = []
        if let httpStatus { parts.append("http \(httpStatus)") }
        if let graphCode { parts.append("code=\(graphCode)") }
        if let graphSubcode { parts.append("subcode=\(graphSubcode)") }
        parts.append(message)
        return parts.joined(separator: " ")
    }
}

/// What a destination does with a whole request after it failed.
public enum FailurePlan: Sendable, Equatable {
    /// Each event waits its own backoff (`RetryPolicy.step`), or gives up.
    case retry
    /// Send each half on its own, now.
    case bisect
    /// The events become dead letters with the failure as their reason.
    case deadLetter
    /// Stop sending to this destination until its credentials change; the events stay
    /// pending and lose no attempt.
    case pause

    /// - Parameter batchSize: events in the request that failed.
    public static func plan(for failure: DeliveryFailure, batchSize: Int) -> FailurePlan {
        switch failure.failureClass {
        case .transient: .retry
        case .invalidEvents: batchSize > 1 ? .bisect : .deadLetter
        case .badCredentials: .pause
        case .permanent: .deadLetter
        }
    }
}
