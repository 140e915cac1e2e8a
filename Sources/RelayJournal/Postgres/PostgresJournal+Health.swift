import Foundation

extension PostgresJournal {
    /// Pending conversions per dataset at a destination, with when the oldest was journaled,
    /// across every relay on the database: the queue-depth and oldest-pending gauges.
    public func pendingSummary(for destination: Destination) throws(JournalError)
        -> [PendingSummary]
    {
        let column = destination.rawValue
        let rows = try read { connection in
            try connection.query(
                """
                SELECT dataset, count(*), min(created_at_ms) FROM conversions
                WHERE \(column)_state = 'pending' GROUP BY dataset ORDER BY dataset
                """)
        }
        return rows.map { row in
            PendingSummary(
                dataset: row[0] ?? "", count: Int(row[1] ?? "") ?? 0,
                oldestJournaledAtMillis: Int64(row[2] ?? "") ?? 0)
        }
    }

    /// Whether this relay's writer can begin and commit a transaction on the database now,
    /// within `timeoutSeconds`.
    public func probeWritable(timeoutSeconds: Double) -> JournalError? {
        nodeNameProblem() ?? writer.probe(timeoutSeconds: timeoutSeconds)
    }
}
