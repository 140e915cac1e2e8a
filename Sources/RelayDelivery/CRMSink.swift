import Foundation
import RelayCore
import RelayJournal

/// Where the relay posts each conversion for the CRM.
public struct CRMDestination: Sendable {
    /// The CRM's webhook URL.
    public var url: String
    /// Keys the `X-Capi-Relay-Signature-256` header, so the CRM can tell the relay's posts
    /// from forgeries.
    public var secret: String
    public var flushIntervalSeconds: Double
    /// Seconds.
    public var requestTimeoutSeconds: Double
    public var retry: RetryPolicy
    /// Posts in flight at once; one conversion is one request, so a single connection would
    /// cap the CRM well below CAPI's batched rate.
    public var concurrency: Int

    /// The signature header's name; its value is `sha256=` and the lowercase hex HMAC-SHA256
    /// of the raw body, the same scheme Meta uses for its webhooks.
    public static let signatureHeader = "X-Capi-Relay-Signature-256"

    public init(
        url: String, secret: String, flushIntervalSeconds: Double = 1,
        requestTimeoutSeconds: Double = 5, retry: RetryPolicy = RetryPolicy(), concurrency: Int = 4
    ) {
        self.concurrency = max(concurrency, 1)
        self.url = url
        self.secret = secret
        self.flushIntervalSeconds = flushIntervalSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.retry = retry
    }
}

/// Posts each conversion to the CRM as signed JSON, on its own queue and thread, so that a CRM
/// outage never holds up delivery to CAPI.
public final class CRMSink: @unchecked Sendable {
    private let journal: any Journal
    private let destination: CRMDestination
    private let transport: any OutboundHTTP
    private let clock: DeliveryClock
    private let logger: Logger
    private let observer: DeliveryObserver
    private var worker: DeliveryWorker!

    /// How many conversions one pass takes; the rest wait for the next pass.
    static let passLimit = 200

    public init(
        journal: any Journal, destination: CRMDestination, transport: any OutboundHTTP,
        clock: DeliveryClock = .system, logger: Logger = .silent,
        observer: @escaping DeliveryObserver = { _ in }
    ) {
        self.observer = observer
        self.journal = journal
        self.destination = destination
        self.transport = transport
        self.clock = clock
        self.logger = logger
        worker = DeliveryWorker(
            name: "crm-sink", intervalSeconds: destination.flushIntervalSeconds
        ) { [unowned self] in
            self.deliverDue()
        }
    }

    public func start() { worker.start() }
    public func wake() { worker.wake() }
    public func stop() { worker.stop() }

    /// One pass; returns true when more may be due at once.
    @discardableResult
    public func deliverDue() -> Bool {
        let pending: [PendingConversion]
        do {
            pending = try journal.due(
                for: .crm, nowMillis: clock.nowMillis(), limit: CRMSink.passLimit)
        } catch {
            logger.error("journal read failed", [("destination", "crm"), ("error", "\(error)")])
            return false
        }
        guard let url = URL(string: destination.url) else {
            logger.error("invalid crm url")
            return false
        }
        DispatchQueue.concurrentPerform(iterations: destination.concurrency) { lane in
            for index in stride(from: lane, to: pending.count, by: destination.concurrency) {
                deliver(pending[index], to: url)
            }
        }
        return pending.count == CRMSink.passLimit
    }

    private func deliver(_ item: PendingConversion, to url: URL) {
        let body = CAPIEventEncoder.crmPayload(item.conversion).serialized()
        let signature =
            "sha256=" + Crypto.hmacSHA256Hex(key: Array(destination.secret.utf8), message: body)
        let started = clock.nowMillis()
        let result = transport.post(
            url: url,
            headers: [
                "Content-Type": "application/json", CRMDestination.signatureHeader: signature,
            ],
            body: body, timeoutSeconds: destination.requestTimeoutSeconds)
        let finished = clock.nowMillis()

        let change: DeliveryStateChange
        let status: Int?
        let response: String
        switch result {
        case .success(let answer) where (200..<300).contains(answer.status):
            change = .sent
            status = answer.status
            response = String(decoding: answer.body, as: UTF8.self)
        case .success(let answer):
            status = answer.status
            response = String(decoding: answer.body, as: UTF8.self)
            let reason = "crm answered http status \(answer.status)"
            // A 4xx other than a timeout or throttle means the CRM refuses this payload:
            // sending it again unchanged cannot help.
            let permanent =
                (400..<500).contains(answer.status)
                && answer.status != 408 && answer.status != 429
            change =
                permanent
                ? .failed(reason: reason)
                : retryOrGiveUp(
                    item, reason: reason, finished: finished,
                    retryAfter: RetryPolicy.retryAfterSeconds(answer.headers["retry-after"]))
        case .failure(let failure):
            status = nil
            response = failure.message
            change = retryOrGiveUp(
                item, reason: failure.message, finished: finished, retryAfter: nil)
        }

        let outcome: String
        switch change {
        case .sent: outcome = "sent"
        case .retry: outcome = "retry"
        default: outcome = "failed"
        }
        do {
            try journal.record(
                attempt: DeliveryAttempt(
                    destination: .crm, dataset: item.conversion.dataset, startedAtMillis: started,
                    finishedAtMillis: finished, httpStatus: status, response: response,
                    outcome: outcome, conversionIDs: [item.conversionID],
                    request: String(decoding: body, as: UTF8.self)),
                changes: [(item.conversionID, change)], destination: .crm)
        } catch {
            logger.error("cannot record delivery", [("destination", "crm"), ("error", "\(error)")])
        }
        let eventID = item.conversion.eventID
        let dataset = item.conversion.dataset
        switch change {
        case .sent:
            observer(
                .sent(
                    destination: "crm", dataset: dataset, eventIDs: [eventID],
                    status: status ?? 200, eventsReceived: nil, fbtraceID: nil))
        case .retry(let at, let reason):
            observer(
                .attemptFailed(
                    destination: "crm", dataset: dataset, eventIDs: [eventID], status: status,
                    code: nil, subcode: nil, message: reason, nextRetryMillis: at))
        case .failed(let reason), .expired(let reason):
            observer(
                .attemptFailed(
                    destination: "crm", dataset: dataset, eventIDs: [eventID], status: status,
                    code: nil, subcode: nil, message: reason, nextRetryMillis: nil))
            observer(.deadLettered(eventID: eventID, destination: "crm", reason: reason))
        }
        if outcome == "sent" {
            logger.debug("crm post delivered", [("event_id", eventID)])
        } else {
            logger.warning(
                "crm delivery failed",
                [
                    ("event_id", item.conversion.eventID),
                    ("status", status.map(String.init) ?? "none"),
                    ("outcome", outcome),
                ])
        }
    }

    private func retryOrGiveUp(
        _ item: PendingConversion, reason: String, finished: Int64, retryAfter: Double?
    ) -> DeliveryStateChange {
        let attempts = item.attempts + 1
        guard attempts < destination.retry.maxAttempts else {
            return .failed(reason: "gave up after \(attempts) attempts: \(reason)")
        }
        let delay = destination.retry.delay(
            afterAttempts: attempts, retryAfter: retryAfter, unit: clock.jitterUnit())
        return .retry(atMillis: finished + Int64(delay * 1000), reason: reason)
    }
}
