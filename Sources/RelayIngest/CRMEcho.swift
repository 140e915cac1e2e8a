import RelayCore

/// One record a CRM sends back to the relay: an echo of a conversion it received, a lifecycle
/// change (`qualified`, `won`), or both.
///
/// Contact details arrive in clear from most CRMs; they are hashed here, before anything is
/// stored, and only the hashes go further.
public struct CRMEcho: Sendable, Equatable {
    /// The CRM's own id for the record.
    public var recordID: String
    /// The event id the relay gave the conversion the record came from, if the CRM kept it.
    public var eventID: String?
    public var eventName: String?
    /// The lifecycle stage, lowercased.
    public var stage: String?
    public var value: Double?
    public var currency: String?
    /// Hashed identifiers by CAPI key (`external_id`, `em`, `ph`).
    public var identifiers: [String: [String]]
    public var invalidDropped: [InvalidValue]
    public var consent: ConsentState?
    public var pageID: String
    public var pageScopedUserID: String
    /// When the stage changed, Unix seconds; nil when the CRM did not say.
    public var updatedAt: Int64?
}

/// Reads CRM echo bodies: one record, an array of records, or `{"records": [...]}`.
public struct CRMEchoParser: Sendable {
    /// The header carrying the body's signature, the same scheme the relay signs CRM posts with.
    public static let signatureHeader = "X-Capi-Relay-Signature-256"
    static let keys: Set<String> = [
        "record_id", "event_id", "event_name", "stage", "value", "currency", "email", "phone",
        "external_id", "consent", "page_id", "page_scoped_user_id", "updated_at",
    ]

    public var normalizer: Normalizer
    /// Send the CRM record id as `external_id` (hashed as the config says).
    public var recordIDAsExternalID: Bool

    public init(normalizer: Normalizer, recordIDAsExternalID: Bool) {
        self.normalizer = normalizer
        self.recordIDAsExternalID = recordIDAsExternalID
    }

    /// Whether `header` is `sha256=` and the HMAC-SHA256 of the raw body under `secret`.
    public static func verify(header: String?, body: [UInt8], secret: String) -> Bool {
        guard let header else { return false }
        let expected = "sha256=" + Crypto.hmacSHA256Hex(key: Array(secret.utf8), message: body)
        return Crypto.constantTimeEqual(header.lowercased(), expected)
    }

    /// The records of a body, each parsed or refused on its own.
    public func parse(_ body: JSONValue) -> Result<[Result<CRMEcho, EventProblem>], EventProblem> {
        let elements: [JSONValue]
        switch body {
        case .array(let array): elements = array
        case .object(let object) where object["records"] != nil:
            guard let array = object["records"]?.arrayValue else {
                return .failure(EventProblem("records", "expected an array of records"))
            }
            elements = array
        case .object: elements = [body]
        default:
            return .failure(
                EventProblem("body", "expected a record object or an array of records"))
        }
        guard !elements.isEmpty else { return .failure(EventProblem("records", "is empty")) }
        return .success(elements.map(record))
    }

    private func record(_ value: JSONValue) -> Result<CRMEcho, EventProblem> {
        guard let fields = value.objectValue else {
            return .failure(EventProblem("record", "expected an object"))
        }
        if let unknown = fields.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            return .failure(
                EventProblem(
                    unknown,
                    "unknown key; expected one of \(Self.keys.sorted().joined(separator: ", "))"))
        }
        func text(_ key: String) -> String? {
            guard let string = fields[key]?.stringValue, !string.isEmpty else { return nil }
            return string
        }
        for key in [
            "record_id", "event_id", "event_name", "stage", "currency", "page_id",
            "page_scoped_user_id",
        ]
        where fields[key] != nil && fields[key] != .null && text(key) == nil {
            return .failure(EventProblem(key, "expected a non-empty string"))
        }
        guard let recordID = text("record_id") else {
            return .failure(EventProblem("record_id", "is required"))
        }
        if let eventID = text("event_id"), !EventID.isValidSupplied(eventID) {
            return .failure(
                EventProblem(
                    "event_id", "expected 1 to 200 printable ASCII characters without spaces"))
        }
        guard text("event_id") != nil || text("stage") != nil else {
            return .failure(
                EventProblem(
                    "record", "names neither an event_id to match nor a stage to convert"))
        }

        var echo = CRMEcho(
            recordID: recordID, eventID: text("event_id"), eventName: text("event_name"),
            stage: text("stage")?.lowercased(), value: nil, currency: text("currency"),
            identifiers: [:], invalidDropped: [], consent: nil,
            pageID: text("page_id") ?? "", pageScopedUserID: text("page_scoped_user_id") ?? "",
            updatedAt: nil)
        if let value = fields["value"], value != .null {
            guard let number = value.numberValue else {
                return .failure(EventProblem("value", "expected a number"))
            }
            echo.value = number
        }
        if let currency = echo.currency {
            guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                return .failure(EventProblem("currency", "expected a 3-letter ISO 4217 code"))
            }
            echo.currency = currency.uppercased()
        }
        if let updated = fields["updated_at"], updated != .null {
            guard let seconds = updated.integerValue, seconds < 100_000_000_000 else {
                return .failure(EventProblem("updated_at", "expected integer Unix seconds"))
            }
            echo.updatedAt = seconds
        }
        if let consent = fields["consent"], consent != .null {
            do {
                echo.consent = try ServerEventParser.consent(consent)
            } catch {
                return .failure(error)
            }
        }

        // Identifiers: hashed into the contact profile, never kept in clear.
        var raw: [(CustomerField, String)] = []
        if let email = text("email") { raw.append((.email, email)) }
        if let phone = text("phone") { raw.append((.phone, phone)) }
        if let external = text("external_id") {
            raw.append((.externalID, external))
        } else if recordIDAsExternalID {
            raw.append((.externalID, recordID))
        }
        for (field, value) in raw {
            switch normalizer.wireValue(field, value) {
            case .success(let wire): echo.identifiers[field.key] = [wire]
            case .failure(let reason):
                echo.invalidDropped.append(
                    InvalidValue(field: field.key, reason: reason.code.rawValue))
            }
        }
        return .success(echo)
    }
}
