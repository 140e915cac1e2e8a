import Foundation
import RelayCore

/// Dead letters in the shared journal: listing them, and queueing them again.
extension PostgresJournal {
    // MARK: Dead letters

    public func deadLetters(
        matching filter: DeadLetterFilter, limit: Int
    ) throws(JournalError) -> [DeadLetter] {
        var conditions: [String] = []
        var values: [String?] = []
        func parameter(_ value: String) -> String {
            values.append(value)
            return "$\(values.count)"
        }
        if !filter.includeResent { conditions.append("d.resent_at_ms IS NULL") }
        if let since = filter.sinceMillis {
            conditions.append("d.created_at_ms >= \(parameter(String(since)))")
        }
        if let eventID = filter.eventID {
            conditions.append("c.event_id = \(parameter(eventID))")
        }
        if let destination = filter.destination {
            conditions.append("d.destination = \(parameter(destination.rawValue))")
        }
        if let reason = filter.reason {
            // A bare number is a Graph code, whichever reason carried it; anything else is a
            // reason code.
            if let code = Int64(reason) {
                conditions.append("d.graph_code = \(parameter(String(code)))")
            } else {
                conditions.append("d.reason_code = \(parameter(reason))")
            }
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limitParameter = parameter(String(limit))
        let rows = try read { connection in
            try connection.query(
                """
                SELECT d.id, d.conversion_id, d.destination, d.reason_code, d.graph_code,
                    d.graph_subcode, d.http_status, d.message, d.attempts, d.event,
                    d.created_at_ms, d.resent_at_ms
                FROM dead_letters d JOIN conversions c ON c.id = d.conversion_id
                \(whereClause) ORDER BY d.id LIMIT \(limitParameter)
                """, values)
        }
        do {
            let decoder = JSONDecoder()
            return try rows.map { row in
                DeadLetter(
                    id: Int64(row[0] ?? "") ?? 0, conversionID: Int64(row[1] ?? "") ?? 0,
                    destination: Destination(rawValue: row[2] ?? "") ?? .capi,
                    reason: DeadLetterReason(
                        code: row[3] ?? "", graphCode: row[4].flatMap { Int($0) },
                        graphSubcode: row[5].flatMap { Int($0) },
                        httpStatus: row[6].flatMap { Int($0) }, message: row[7] ?? ""),
                    attempts: Int(row[8] ?? "") ?? 0,
                    conversion: try decoder.decode(
                        Conversion.self, from: Data((row[9] ?? "").utf8)),
                    createdAtMillis: Int64(row[10] ?? "") ?? 0,
                    resentAtMillis: row[11].flatMap { Int64($0) })
            }
        } catch {
            throw JournalError(.io, "journal read failed: \(error)")
        }
    }

    public func resend(
        deadLetterIDs: [Int64], nowMillis: Int64
    ) throws(JournalError) -> [Int64] {
        let box = ResendBox()
        do {
            try writer.submitAndWait { connection in
                box.ids = []
                for id in deadLetterIDs {
                    guard
                        let row = try connection.query(
                            """
                            SELECT conversion_id, destination FROM dead_letters
                            WHERE id = $1 AND resent_at_ms IS NULL
                            """, [String(id)]
                        ).first,
                        let conversionID = row[0],
                        let destination = Destination(rawValue: row[1] ?? "")
                    else { continue }
                    let column = destination.rawValue
                    // Only a conversion still given up at that destination is queued: one an
                    // operator re-sent another way meanwhile is already on its way.
                    let changed = try connection.update(
                        """
                        UPDATE conversions SET \(column)_state = 'pending',
                            \(column)_next_at_ms = $1, \(column)_attempts = 0,
                            \(column)_reason = NULL, \(column)_lease_owner = NULL,
                            \(column)_lease_until_ms = NULL
                        WHERE id = $2 AND \(column)_state IN ('failed', 'expired')
                        """, [String(nowMillis), conversionID])
                    guard changed > 0 else { continue }
                    try connection.query(
                        """
                        UPDATE dead_letters SET resent_at_ms = $1
                        WHERE conversion_id = $2 AND destination = $3 AND resent_at_ms IS NULL
                        """, [String(nowMillis), conversionID, column])
                    box.ids.append(id)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot queue dead letters again: \(error)")
        }
        return box.ids
    }

    /// The state of each conversion at a destination, for a tool waiting on a resend.
    public func states(
        of conversionIDs: [Int64], at destination: Destination
    ) throws(JournalError) -> [Int64: String] {
        let column = destination.rawValue
        let rows = try read { connection in
            try connection.query(
                """
                SELECT id, \(column)_state FROM conversions
                WHERE id = ANY(string_to_array($1, ',')::bigint[])
                """, [conversionIDs.map(String.init).joined(separator: ",")])
        }
        var states: [Int64: String] = [:]
        for row in rows {
            if let id = row[0].flatMap({ Int64($0) }) { states[id] = row[1] ?? "" }
        }
        return states
    }
}

/// Carries a resend's queued ids out of its write job.
private final class ResendBox: @unchecked Sendable {
    var ids: [Int64] = []
}
