import RelayCore

/// Decides whether Meta's Conversions API would accept a request, and if not, with which error.
///
/// Pure: no I/O and no clock of its own (the request carries `now`), so every rule is unit
/// tested. The rules follow `/work/shared/reference/meta-capi.md` §1–2 and are, where the
/// reference allows a choice, the stricter reading: the sandbox exists to catch what Meta would
/// refuse before real events are lost to it.
///
/// Checks run in this order: the path, then authentication (so a bad token in the query is
/// reported even for a malformed body), then the envelope, then every event. The first
/// failure decides the answer, and one bad event rejects the whole batch, as Meta does.
public struct CAPIRequestValidator: Sendable {
    /// Meta's limit on `data` per request.
    public static let maxEventsPerRequest = 1000
    /// How far back `event_time` may lie, in seconds (7 days, reference §1.7).
    public static let maxEventAge: Int64 = 7 * 86_400
    /// The longer window for `physical_store` (offline) events, in seconds (62 days, §1.7).
    public static let maxPhysicalStoreEventAge: Int64 = 62 * 86_400
    /// How far ahead of `now` an `event_time` may lie, in seconds.
    ///
    /// Meta documents no rule for future times (§1.7); refusing them outright would fail a
    /// relay whose clock runs a second ahead of the sandbox's, so a minute of skew is allowed.
    public static let allowedClockSkew: Int64 = 60

    /// When set, `access_token` must equal it; otherwise any non-empty token is accepted.
    public var expectedAccessToken: String?
    /// When set, `appsecret_proof` is required and must be HMAC-SHA256(app secret, token).
    public var appSecret: String?

    public init(expectedAccessToken: String? = nil, appSecret: String? = nil) {
        self.expectedAccessToken = expectedAccessToken
        self.appSecret = appSecret
    }

    /// Validates one request. Never throws and never traps on bad input: every problem becomes
    /// a Graph error.
    public func validate(_ request: CAPIRequest) -> CAPIValidationResult {
        if let error = pathError(request) {
            return .rejected(error, batch: nil)
        }

        // The body is read before authenticating because the token may be one of its fields.
        // A body field wins over a query parameter of the same name.
        let body = bodyParameters(contentType: request.contentType, body: request.body)
        var parameters = (try? body.get()) ?? [:]
        for (name, value) in request.query where parameters[name] == nil {
            parameters[name] = .string(value)
        }

        // An unreadable body may be hiding the token, so "token required" would mislead; it is
        // reported first only then. With the token in the query, authentication comes first.
        if case .failure(let error) = body, parameters["access_token"] == nil {
            return .rejected(error, batch: nil)
        }
        if let error = authenticationError(parameters) {
            return .rejected(error, batch: nil)
        }
        if case .failure(let error) = body {
            return .rejected(error, batch: nil)
        }

        let batch: CAPIBatch
        do {
            batch = try envelope(parameters)
        } catch {
            return .rejected(error, batch: nil)
        }

        if let error = batchSizeError(batch) {
            return .rejected(error, batch: batch)
        }
        for (index, event) in batch.events.enumerated() {
            do {
                try validateEvent(event, index: index, now: request.now)
            } catch {
                return .rejected(error, batch: batch)
            }
        }
        return .accepted(batch)
    }

    // MARK: - Steps

    private func pathError(_ request: CAPIRequest) -> GraphError? {
        if !Self.isGraphVersion(request.apiVersion) {
            return .unsupportedRequest(
                "API version \(quoted(request.apiVersion)) is not of the form v25.0",
                httpStatus: 404
            )
        }
        if request.dataset.isEmpty || !request.dataset.utf8.allSatisfy(isASCIIDigit) {
            return .unsupportedRequest(
                "object with ID \(quoted(request.dataset)) does not exist; dataset IDs are digits"
            )
        }
        return nil
    }

    private func authenticationError(_ parameters: [String: JSONValue]) -> GraphError? {
        guard let token = parameters["access_token"]?.stringValue, !token.isEmpty else {
            return .accessTokenRequired
        }
        if let expected = expectedAccessToken, !Crypto.constantTimeEqual(token, expected) {
            return .invalidAccessToken
        }
        guard let appSecret else { return nil }
        guard let proof = parameters["appsecret_proof"]?.stringValue, !proof.isEmpty else {
            return .appsecretProofRequired
        }
        let expectedProof = Crypto.hmacSHA256Hex(key: appSecret, message: token)
        return Crypto.constantTimeEqual(proof, expectedProof) ? nil : .appsecretProofInvalid
    }

    /// The request-level fields: `data` decoded into events, plus `test_event_code` and
    /// `partner_agent`.
    private func envelope(_ parameters: [String: JSONValue]) throws(GraphError) -> CAPIBatch {
        var data = parameters["data"]
        // Form bodies and query strings can only carry text, so `data` arrives JSON-encoded;
        // Graph decodes any parameter that way, so a JSON body's string `data` is decoded too.
        if case .string(let text) = data {
            do {
                data = try JSONValue(parsing: text)
            } catch {
                throw .invalidParameter(
                    "data is a string that is not valid JSON (\(error))",
                    title: "Malformed Data Parameter",
                    fix: "Send data as a JSON array of event objects."
                )
            }
        }
        guard let data else {
            throw .invalidParameter(
                "missing data: expected a JSON array of 1 to \(Self.maxEventsPerRequest) events",
                title: "Missing Data Parameter",
                fix: "Send the events as data=[{…}, …]."
            )
        }
        guard case .array(let elements) = data else {
            throw .invalidParameter(
                "data must be a JSON array of events, got \(data.kindDescription)",
                title: "Malformed Data Parameter",
                fix: "Send data as a JSON array of event objects."
            )
        }

        // The Python Business SDK sends each event as a JSON-encoded string inside the array.
        let events = elements.map { element -> JSONValue in
            guard case .string(let text) = element, let decoded = try? JSONValue(parsing: text),
                case .object = decoded
            else { return element }
            return decoded
        }
        return CAPIBatch(
            events: events,
            testEventCode: try optionalString("test_event_code", in: parameters),
            partnerAgent: try optionalString("partner_agent", in: parameters)
        )
    }

    private func optionalString(
        _ name: String, in parameters: [String: JSONValue]
    ) throws(GraphError) -> String? {
        guard let value = parameters[name] else { return nil }
        guard case .string(let text) = value, !text.isEmpty else {
            throw .invalidParameter(
                "\(name) must be a non-empty string, got \(describe(value))",
                title: "Invalid Parameter", fix: "Send \(name) as a string, or leave it out."
            )
        }
        return text
    }

    private func batchSizeError(_ batch: CAPIBatch) -> GraphError? {
        if batch.events.isEmpty {
            return .invalidParameter(
                "data is an empty array: expected 1 to \(Self.maxEventsPerRequest) events",
                title: "No Events", fix: "Send at least one event."
            )
        }
        if batch.events.count > Self.maxEventsPerRequest {
            return .invalidParameter(
                "data has \(batch.events.count) events; the limit is "
                    + "\(Self.maxEventsPerRequest) per request",
                title: "Too Many Events",
                fix: "Split the batch into requests of at most \(Self.maxEventsPerRequest) events."
            )
        }
        return nil
    }

    /// `v` then digits, a dot, digits: the shape of every Graph API version.
    static func isGraphVersion(_ version: String) -> Bool {
        let utf8 = Array(version.utf8)
        guard utf8.first == UInt8(ascii: "v"), let dot = utf8.firstIndex(of: UInt8(ascii: "."))
        else { return false }
        let major = utf8[1..<dot]
        let minor = utf8[(dot + 1)...]
        return !major.isEmpty && !minor.isEmpty
            && major.allSatisfy(isASCIIDigit) && minor.allSatisfy(isASCIIDigit)
    }
}

func isASCIIDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
}
