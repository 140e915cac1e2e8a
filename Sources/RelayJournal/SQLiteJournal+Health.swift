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

    /// Whether a write transaction can start and commit now, within `timeoutSeconds`: through
    /// the one writer thread, where SQLite grants the write lock (`BEGIN IMMEDIATE`).
    public func probeWritable(timeoutSeconds: Double) -> JournalError? {
        writer.probe(timeoutSeconds: timeoutSeconds)
    }
}
