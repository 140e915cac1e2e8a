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
    /// within `timeoutSeconds`. It goes through the writer, behind what is queued, as an
    /// append would, and writes no row.
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
