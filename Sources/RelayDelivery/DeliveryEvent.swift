/// What a delivery worker did, for the live feed and for destination health.
public enum DeliveryEvent: Sendable, Equatable {
    /// A request succeeded. `eventsReceived` and `fbtraceID` are Meta's, when it sent them.
    case sent(
        destination: String, dataset: String, eventIDs: [String], status: Int,
        eventsReceived: Int?, fbtraceID: String?)
    /// A request failed; the events are retried at `nextRetryMillis`, or nil when not retried
    /// (split, dead-lettered or paused).
    /// `failureClass` says what kind of failure it was (``FailureClass``): only transient ones
    /// (no answer, 5xx, throttling) say that the destination may be down.
    case attemptFailed(
        destination: String, dataset: String, eventIDs: [String], status: Int?,
        code: Int?, subcode: Int?, message: String, nextRetryMillis: Int64?,
        failureClass: FailureClass)
    case expired(eventID: String, reason: String)
    /// Given up for good: a permanent error or attempts exhausted. `code` is the dead
    /// letter's reason code (`graph_100`, `attempts_exhausted`, …).
    case deadLettered(eventID: String, destination: String, reason: String)
    /// A batch rejected for its content was split in two to isolate the bad events.
    case bisected(destination: String, dataset: String, eventCount: Int, message: String)
    /// The destination stopped sending: its credentials were refused. Events wait, pending.
    case paused(destination: String, reason: String, code: Int?)
    /// Sending resumed after a config reload brought new credentials.
    case resumed(destination: String)
}

/// Receives delivery events on the worker's thread; must not block.
public typealias DeliveryObserver = @Sendable (DeliveryEvent) -> Void
