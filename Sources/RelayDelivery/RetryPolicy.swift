import Foundation

/// When to try again after a transient failure.
///
/// Exponential backoff with jitter: after attempt n the wait is drawn from
/// [c/2, c] with c = min(max, base·2ⁿ⁻¹), so that relays recovering from the same outage do
/// not all retry in step. A Retry-After from the destination wins when it asks for longer.
public struct RetryPolicy: Sendable, Equatable {
    /// The first wait, in seconds.
    public var baseSeconds: Double
    /// The longest wait, in seconds.
    public var maxSeconds: Double
    /// Attempts before giving up; the event then becomes a dead letter with the last reason.
    public var maxAttempts: Int

    public init(baseSeconds: Double = 1, maxSeconds: Double = 300, maxAttempts: Int = 12) {
        self.baseSeconds = baseSeconds
        self.maxSeconds = maxSeconds
        self.maxAttempts = max(maxAttempts, 1)
    }

    /// What happens to one event after a transient failure.
    public enum Step: Sendable, Equatable {
        /// Due again at this epoch millisecond.
        case retry(atMillis: Int64)
        /// `maxAttempts` reached.
        case giveUp
    }

    /// The next step for an event.
    /// - Parameters:
    ///   - attempts: attempts made so far, including the one that just failed (≥ 1).
    ///   - retryAfter: the destination's Retry-After, in seconds, if it sent one.
    ///   - nowMillis: when the failed attempt finished.
    ///   - unit: a random number in [0, 1), injected so tests can pin it.
    public func step(
        afterAttempts attempts: Int, retryAfter: Double?, nowMillis: Int64, unit: Double
    ) -> Step {
        guard attempts < maxAttempts else { return .giveUp }
        let wait = delay(afterAttempts: attempts, retryAfter: retryAfter, unit: unit)
        return .retry(atMillis: nowMillis + Int64((wait * 1000).rounded(.up)))
    }

    /// The wait after the given number of attempts, in seconds.
    public func delay(afterAttempts attempts: Int, retryAfter: Double?, unit: Double) -> Double {
        let ceiling = self.ceiling(afterAttempts: attempts)
        let jittered = ceiling / 2 + ceiling / 2 * min(max(unit, 0), 1)
        return max(jittered, retryAfter ?? 0)
    }

    /// The shortest wait the policy allows after `attempts` attempts, in seconds: what a test
    /// holds the gaps between attempts to.
    public func minimumDelay(afterAttempts attempts: Int) -> Double {
        ceiling(afterAttempts: attempts) / 2
    }

    private func ceiling(afterAttempts attempts: Int) -> Double {
        let exponent = min(max(attempts - 1, 0), 30)
        var ceiling = baseSeconds
        for _ in 0..<exponent where ceiling < maxSeconds { ceiling *= 2 }
        return min(maxSeconds, ceiling)
    }

    /// Parses a Retry-After header given in seconds (the HTTP-date form is ignored: Graph
    /// does not send it), capped at an hour so that a broken header cannot park events.
    public static func retryAfterSeconds(_ header: String?) -> Double? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)),
            seconds >= 0, seconds.isFinite
        else { return nil }
        return min(seconds, 3600)
    }
}
