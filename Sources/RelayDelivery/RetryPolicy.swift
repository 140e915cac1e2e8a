import Foundation

/// When to try again after a failure.
///
/// Exponential backoff with full jitter: after attempt n the wait is drawn from
/// [base·2ⁿ/2, base·2ⁿ], capped, so that relays recovering from the same outage do not all
/// retry in step. A Retry-After header from the destination wins when it asks for longer.
public struct RetryPolicy: Sendable, Equatable {
    /// The first wait, in seconds.
    public var baseSeconds: Double
    /// The longest wait, in seconds.
    public var maxSeconds: Double
    /// Attempts before giving up; the event is then marked failed with the last reason.
    public var maxAttempts: Int

    public init(baseSeconds: Double = 1, maxSeconds: Double = 300, maxAttempts: Int = 12) {
        self.baseSeconds = baseSeconds
        self.maxSeconds = maxSeconds
        self.maxAttempts = maxAttempts
    }

    /// The wait after the given number of attempts, in seconds.
    /// - Parameters:
    ///   - attempts: attempts made so far, including the one that just failed (≥ 1).
    ///   - retryAfter: the destination's Retry-After, in seconds, if it sent one.
    ///   - unit: a random number in [0, 1), injected so tests can pin it.
    public func delay(afterAttempts attempts: Int, retryAfter: Double?, unit: Double) -> Double {
        let exponent = Double(min(max(attempts - 1, 0), 30))
        let ceiling = min(maxSeconds, baseSeconds * pow2(exponent))
        let jittered = ceiling / 2 + ceiling / 2 * unit
        return max(jittered, retryAfter ?? 0)
    }

    private func pow2(_ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= 2 }
        return result
    }

    /// Parses a Retry-After header given in seconds (the HTTP-date form is ignored: Graph
    /// does not send it).
    public static func retryAfterSeconds(_ header: String?) -> Double? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)),
            seconds >= 0
        else { return nil }
        return min(seconds, 3600)
    }
}
