import Foundation
import RelayCore
import RelayJournal

/// Delivery outcomes the journal could not take when they came (a full disk, a broken file).
///
/// While any is held, its destination sends nothing more: the events it concerns are still
/// pending in the journal, so every pass would send them again, and Meta does not deduplicate
/// business-messaging events. Each pass first tries to journal what is held, in order; once
/// that works, delivery goes on. Held outcomes live in memory only: a relay stopped meanwhile
/// sends those events again after its restart, once, as after a crash.
final class HeldOutcomes: @unchecked Sendable {
    private struct Outcome {
        var attempt: DeliveryAttempt?
        var changes: [(conversionID: Int64, change: DeliveryStateChange)]
    }

    private let destination: Destination
    private let journal: any Journal
    private let logger: Logger
    private let lock = NSLock()
    /// Guarded by `lock`, oldest first.
    private var held: [Outcome] = []

    init(destination: Destination, journal: any Journal, logger: Logger) {
        self.destination = destination
        self.journal = journal
        self.logger = logger
    }

    /// Whether nothing is held, so that sending may go on.
    var isEmpty: Bool { lock.withLock { held.isEmpty } }

    /// How many outcomes wait to be journaled.
    var count: Int { lock.withLock { held.count } }

    /// Journals an outcome, or holds it when the journal refuses.
    func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)]
    ) {
        do {
            try journal.record(attempt: attempt, changes: changes, destination: destination)
        } catch {
            let count = lock.withLock {
                held.append(Outcome(attempt: attempt, changes: changes))
                return held.count
            }
            logger.error(
                "cannot record delivery; nothing more is sent until it is recorded",
                [
                    ("destination", destination.rawValue), ("held", "\(count)"),
                    ("error", "\(error)"),
                ])
        }
    }

    /// Journals what is held, oldest first; true once nothing is held.
    func recordHeld() -> Bool {
        let waiting = lock.withLock { held }
        guard !waiting.isEmpty else { return true }
        var recorded = 0
        defer { lock.withLock { held.removeFirst(recorded) } }
        for outcome in waiting {
            do {
                try journal.record(
                    attempt: outcome.attempt, changes: outcome.changes, destination: destination)
                recorded += 1
            } catch {
                return false
            }
        }
        logger.notice(
            "held deliveries recorded; delivery goes on",
            [("destination", destination.rawValue), ("recorded", "\(recorded)")])
        return true
    }
}
