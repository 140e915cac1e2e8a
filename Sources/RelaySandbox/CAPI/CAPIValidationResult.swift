import RelayCore
/// The events of one request, as parsed, with the request-level fields that travel with them.
public struct CAPIBatch: Sendable, Equatable {
    /// The elements of `data`, as parsed. An element sent as a JSON-encoded string (the Python
    /// Business SDK does this) appears here decoded.
    public var events: [JSONValue]
    /// `test_event_code`: Meta does not drop such events, it shows them in Test Events.
    public var testEventCode: String?
    /// `partner_agent`, e.g. `capi-relay/1.0`.
    public var partnerAgent: String?

    public init(events: [JSONValue], testEventCode: String? = nil, partnerAgent: String? = nil) {
        self.events = events
        self.testEventCode = testEventCode
        self.partnerAgent = partnerAgent
    }

    /// What Graph reports as `events_received`: every event, since batches are all-or-nothing.
    public var eventsReceived: Int { events.count }
}

/// What the validator decided about one CAPI request.
public enum CAPIValidationResult: Sendable, Equatable {
    /// Every event is valid; Graph would answer 200 with `events_received`.
    case accepted(CAPIBatch)
    /// The request is refused as a whole. `batch` carries whatever events could be parsed,
    /// so a rejection can still be recorded with the events that caused it.
    case rejected(GraphError, batch: CAPIBatch?)

    public var error: GraphError? {
        if case .rejected(let error, _) = self { error } else { nil }
    }

    public var batch: CAPIBatch? {
        switch self {
        case .accepted(let batch): batch
        case .rejected(_, let batch): batch
        }
    }

    public var isAccepted: Bool {
        if case .accepted = self { true } else { false }
    }
}
