import Foundation

/// A token bucket that spaces one destination's requests: at most `requestsPerSecond` on
/// average, with bursts of up to one second's worth.
///
/// Blocking is the point: the delivery thread waits for its turn, which slows that
/// destination alone. `cancel()` releases every waiter, so a stop never waits for tokens.
final class RateLimiter: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`; nil is unlimited.
    private var requestsPerSecond: Double?
    /// Guarded by `condition`.
    private var tokens: Double
    /// Guarded by `condition`.
    private var refilledAt = Date()
    /// Guarded by `condition`.
    private var cancelled = false

    /// - Parameter requestsPerSecond: nil or 0 for no limit.
    init(requestsPerSecond: Double?) {
        let rate = requestsPerSecond.flatMap { $0 > 0 ? $0 : nil }
        self.requestsPerSecond = rate
        tokens = max(rate ?? 1, 1)
    }

    /// Changes the rate, for a config reload.
    func update(requestsPerSecond: Double?) {
        condition.withLock {
            self.requestsPerSecond = requestsPerSecond.flatMap { $0 > 0 ? $0 : nil }
            tokens = min(tokens, max(self.requestsPerSecond ?? 1, 1))
            condition.broadcast()
        }
    }

    /// Waits for a token; false when cancelled meanwhile.
    func acquire() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            guard let rate = requestsPerSecond else { return true }
            let now = Date()
            tokens = min(max(rate, 1), tokens + now.timeIntervalSince(refilledAt) * rate)
            refilledAt = now
            if tokens >= 1 {
                tokens -= 1
                return true
            }
            _ = condition.wait(until: now.addingTimeInterval((1 - tokens) / rate))
        }
        return false
    }

    /// Releases every waiter; later calls to `acquire` fail at once until `reset`.
    func cancel() {
        condition.withLock {
            cancelled = true
            condition.broadcast()
        }
    }
}
