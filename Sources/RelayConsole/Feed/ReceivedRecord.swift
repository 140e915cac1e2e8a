import RelayCore
import RelayFeed

/// One pipeline record as the console received it from the relay's feed: a stage an event or webhook went through.
///
/// The console keeps the whole JSON object (`fields`) so that a stage the relay adds later still
/// shows up in the flow, and reads the few members it understands through the accessors below.
public struct ReceivedRecord: Sendable, Hashable {
    /// The stages of feed protocol version 1: the relay's own list, so the two cannot drift.
    public typealias Stage = FeedStage

    /// The relay's sequence number; consecutive records differ by one.
    public var seq: Int64
    /// The record time exactly as sent (ISO-8601), shown without re-formatting.
    public var time: String
    /// The stage, or nil for a stage this console does not know (shown by its raw name).
    public var stage: Stage?
    public var rawStage: String
    public var fields: JSONValue

    public init(_ object: JSONValue) {
        fields = object
        seq = object["seq"]?.integerValue ?? 0
        time = object["time"]?.stringValue ?? ""
        rawStage = object["stage"]?.stringValue ?? "unknown"
        stage = Stage(rawValue: rawStage)
    }

    /// The member `key` as text: strings as they are, numbers and booleans written out.
    public func text(_ key: String) -> String? {
        switch fields[key] {
        case .string(let value)?: value
        case .integer(let value)?: String(value)
        case .float(let value)?: String(value)
        case .bool(let value)?: String(value)
        default: nil
        }
    }

    /// Every event id the record is about: `event_id`, or the batch's `event_ids`.
    public var eventIDs: [String] {
        if let single = fields["event_id"]?.stringValue { return [single] }
        return fields["event_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The event a key press on this record acts on (inspect, re-send).
    public var primaryEventID: String? { eventIDs.first }

    /// The page-scoped user id, for search.
    public var pageScopedUserID: String? { fields["psid"]?.stringValue }

    /// Whether the record is a delivery problem, listed in the failures pane.
    public var isFailure: Bool {
        stage == .attemptFailed || stage == .expired || stage == .deadLettered
            || stage == .paused || stage == .outage
    }
}
