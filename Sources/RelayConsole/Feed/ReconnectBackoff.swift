/// How long the console waits before reconnecting to the feed: doubling from half a second to
/// at most five, and back to the start once a connection has delivered its hello.
///
/// Five seconds is the cap because an operator watching a restart wants to see the relay again
/// promptly; a relay that is down costs the console only a failed connect per attempt.
public struct ReconnectBackoff: Sendable, Equatable {
    /// Seconds.
    public static let initialDelay = 0.5
    /// Seconds.
    public static let maximumDelay = 5.0

    private var nextDelay = ReconnectBackoff.initialDelay

    public init() {}

    /// The delay before the next attempt, in seconds; each call doubles the one after.
    public mutating func next() -> Double {
        let delay = nextDelay
        nextDelay = min(nextDelay * 2, Self.maximumDelay)
        return delay
    }

    /// Called when a connection worked, so that the next outage starts with a short wait.
    public mutating func reset() { nextDelay = Self.initialDelay }
}
