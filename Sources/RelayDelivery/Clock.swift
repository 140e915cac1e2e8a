import Foundation

/// Time and randomness for delivery, injectable so that tests can move time.
public struct DeliveryClock: Sendable {
    /// Epoch milliseconds now.
    public var nowMillis: @Sendable () -> Int64
    /// A number in [0, 1) for backoff jitter.
    public var jitterUnit: @Sendable () -> Double

    public init(
        nowMillis: @escaping @Sendable () -> Int64, jitterUnit: @escaping @Sendable () -> Double
    ) {
        self.nowMillis = nowMillis
        self.jitterUnit = jitterUnit
    }

    public static let system = DeliveryClock(
        nowMillis: { Int64(Date().timeIntervalSince1970 * 1000) },
        jitterUnit: { Double.random(in: 0..<1) })
}
