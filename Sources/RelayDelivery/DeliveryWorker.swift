import Foundation

/// A thread that runs one destination's delivery pass on a fixed tick until stopped.
///
/// Each destination gets its own worker, so a destination that is down or slow delays only
/// itself: a CRM outage never holds up CAPI. A tick rather than a wake-up per event is what
/// makes batches: events that arrive during one interval leave together.
final class DeliveryWorker: @unchecked Sendable {
    private let name: String
    private let intervalSeconds: Double
    private let pass: @Sendable () -> Bool
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var stopping = false
    /// Guarded by `condition`.
    private var wakeRequested = false
    private let finished = DispatchSemaphore(value: 0)
    private var started = false

    /// - Parameters:
    ///   - intervalSeconds: the time between passes.
    ///   - pass: one delivery pass; returns true when it left work that is due now (a full
    ///     batch), so the next pass runs at once.
    init(name: String, intervalSeconds: Double, pass: @escaping @Sendable () -> Bool) {
        self.name = name
        self.intervalSeconds = intervalSeconds
        self.pass = pass
    }

    func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.start()
    }

    /// Runs the next pass now instead of at the next tick.
    func wake() {
        condition.lock()
        wakeRequested = true
        condition.signal()
        condition.unlock()
    }

    /// Stops after the pass in progress, if any, and waits for the thread.
    /// - Parameter deadlineSeconds: how long to wait; nil waits as long as the pass takes.
    /// - Returns: false when the pass was still running at the deadline (its batch is then
    ///   recorded by nobody, stays pending in the journal and is sent again after a restart).
    @discardableResult
    func stop(deadlineSeconds: Double? = nil) -> Bool {
        condition.lock()
        let wasStopping = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        guard started && !wasStopping else { return true }
        guard let deadlineSeconds else {
            finished.wait()
            return true
        }
        return finished.wait(timeout: .now() + deadlineSeconds) == .success
    }

    private func run() {
        var immediately = false
        while waitForTick(skip: immediately) {
            immediately = pass()
        }
        finished.signal()
    }

    /// Waits for the tick, a wake or a stop; false when stopping.
    private func waitForTick(skip: Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: skip ? 0 : intervalSeconds)
        while !stopping && !wakeRequested {
            if !condition.wait(until: deadline) { break }
        }
        wakeRequested = false
        return !stopping
    }
}
