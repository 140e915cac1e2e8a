import Foundation

/// What waits at one destination for one dataset.
public struct PendingSummary: Sendable, Equatable {
    public var dataset: String
    public var count: Int
    /// When the oldest of them was journaled, epoch milliseconds.
    public var oldestJournaledAtMillis: Int64

    public init(dataset: String, count: Int, oldestJournaledAtMillis: Int64) {
        self.dataset = dataset
        self.count = count
        self.oldestJournaledAtMillis = oldestJournaledAtMillis
    }
}

/// What `/readyz` and `/metrics` ask of a journal: part of `Journal`, so every backend the
/// relay can run on answers these.
public protocol JournalHealth: AnyObject, Sendable {
    /// Pending conversions per dataset at a destination, with when the oldest was journaled.
    func pendingSummary(for destination: Destination) throws(JournalError) -> [PendingSummary]
    /// Nil when a write transaction can start and commit within `timeoutSeconds`, else why not.
    func probeWritable(timeoutSeconds: Double) -> JournalError?
}

extension SQLiteJournal: JournalHealth {
    /// Pending conversions per dataset at a destination, with the age of the oldest: the
    /// queue-depth and oldest-pending gauges of `/metrics`.
    public func pendingSummary(for destination: Destination) throws(JournalError)
        -> [PendingSummary]
    {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                """
                SELECT dataset, count(*), min(created_at_ms) FROM conversions
                WHERE \(column)_state = 'pending' GROUP BY dataset ORDER BY dataset
                """)
            var summaries: [PendingSummary] = []
            while try statement.step() {
                summaries.append(
                    PendingSummary(
                        dataset: statement.text(0) ?? "", count: Int(statement.int(1)),
                        oldestJournaledAtMillis: statement.int(2)))
            }
            return summaries
        }
    }

    /// Whether a write transaction can start and commit now, within `timeoutSeconds`.
    ///
    /// The probe goes through the one writer thread, behind whatever is queued, so it proves
    /// what an append needs: the writer is alive, not stuck behind a hung commit, and SQLite
    /// grants the write lock (`BEGIN IMMEDIATE`). It writes no row, so it cannot prove that
    /// the disk has room; a failed append reports that.
    /// - Returns: nil when writable, else why not.
    public func probeWritable(timeoutSeconds: Double) -> JournalError? {
        let answered = DispatchSemaphore(value: 0)
        let outcome = ProbeOutcome()
        writer.submit({ _ in }) { error in
            outcome.set(error)
            answered.signal()
        }
        guard answered.wait(timeout: .now() + timeoutSeconds) == .success else {
            return JournalError(
                .commitFailed, "the journal writer did not answer within \(timeoutSeconds) s")
        }
        guard let error = outcome.error else { return nil }
        return error as? JournalError ?? JournalError(.commitFailed, "\(error)")
    }
}

/// Carries a write probe's answer from the writer thread, for either backend; guarded by its
/// lock.
final class ProbeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    func set(_ error: Error?) { lock.withLock { stored = error } }
    var error: Error? { lock.withLock { stored } }
}
