/// What a delivery worker did, for the live feed and for destination health.
public enum DeliveryEvent: Sendable, Equatable {
    /// A request succeeded. `eventsReceived` and `fbtraceID` are Meta's, when it sent them.
    case sent(
        destination: String, dataset: String, eventIDs: [String], status: Int,
        eventsReceived: Int?, fbtraceID: String?)
    /// A request failed; the events are retried at `nextRetryMillis`, or nil when given up.
    case attemptFailed(
        destination: String, dataset: String, eventIDs: [String], status: Int?,
        code: Int?, subcode: Int?, message: String, nextRetryMillis: Int64?)
    case expired(eventID: String, reason: String)
    /// Given up for good: a permanent error or attempts exhausted.
    case deadLettered(eventID: String, destination: String, reason: String)
}

/// Receives delivery events on the worker's thread; must not block.
public typealias DeliveryObserver = @Sendable (DeliveryEvent) -> Void
