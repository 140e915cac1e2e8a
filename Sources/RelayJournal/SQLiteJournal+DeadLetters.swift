import Foundation
import RelayCore

/// Dead letters: listing them, and queueing them again once their cause is fixed.
extension SQLiteJournal {
    // MARK: Dead letters

    public func deadLetters(
        matching filter: DeadLetterFilter, limit: Int
    ) throws(JournalError) -> [DeadLetter] {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        if !filter.includeResent { conditions.append("d.resent_at_ms IS NULL") }
        if let since = filter.sinceMillis {
            conditions.append("d.created_at_ms >= ?")
            values.append(.int(since))
        }
        if let eventID = filter.eventID {
            conditions.append("c.event_id = ?")
            values.append(.text(eventID))
        }
        if let destination = filter.destination {
            conditions.append("d.destination = ?")
            values.append(.text(destination.rawValue))
        }
        if let reason = filter.reason {
            // A bare number is a Graph code, whichever reason carried it (a code 2 that ran
            // out of attempts is still a code 2); anything else is a reason code.
            if let code = Int64(reason) {
                conditions.append("d.graph_code = ?")
                values.append(.int(code))
            } else {
                conditions.append("d.reason_code = ?")
                values.append(.text(reason))
            }
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        values.append(.int(Int64(limit)))
        return try read { database in
            let statement = try database.statement(
                """
                SELECT d.id, d.conversion_id, d.destination, d.reason_code, d.graph_code,
                    d.graph_subcode, d.http_status, d.message, d.attempts, d.event,
                    d.created_at_ms, d.resent_at_ms
                FROM dead_letters d JOIN conversions c ON c.id = d.conversion_id
                \(whereClause) ORDER BY d.id LIMIT ?
                """
            ).bind(values)
            var found: [DeadLetter] = []
            let decoder = JSONDecoder()
            func optionalInt(_ column: Int32) -> Int? {
                statement.isNull(column) ? nil : Int(statement.int(column))
            }
            while try statement.step() {
                let conversion = try decoder.decode(
                    Conversion.self, from: Data((statement.text(9) ?? "").utf8))
                found.append(
                    DeadLetter(
                        id: statement.int(0), conversionID: statement.int(1),
                        destination: Destination(rawValue: statement.text(2) ?? "") ?? .capi,
                        reason: DeadLetterReason(
                            code: statement.text(3) ?? "", graphCode: optionalInt(4),
                            graphSubcode: optionalInt(5), httpStatus: optionalInt(6),
                            message: statement.text(7) ?? ""),
                        attempts: Int(statement.int(8)), conversion: conversion,
                        createdAtMillis: statement.int(10),
                        resentAtMillis: statement.isNull(11) ? nil : statement.int(11)))
            }
            return found
        }
    }

    public func resend(
        deadLetterIDs: [Int64], nowMillis: Int64
    ) throws(JournalError) -> [Int64] {
        let box = ResendBox()
        do {
            try writer.submitAndWait { database in
                // A batch may run again after another job in it failed: start over.
                box.ids = []
                for id in deadLetterIDs {
                    let find = try database.statement(
                        """
                        SELECT conversion_id, destination FROM dead_letters
                        WHERE id = ? AND resent_at_ms IS NULL
                        """
                    ).bind(.int(id))
                    guard try find.step(),
                        let destination = Destination(rawValue: find.text(1) ?? "")
                    else {
                        find.reset()
                        continue
                    }
                    let conversionID = find.int(0)
                    find.reset()
                    let column = destination.rawValue
                    // Only a conversion still given up at that destination is queued: one an
                    // operator re-sent another way meanwhile is already on its way.
                    try database.statement(
                        """
                        UPDATE conversions SET \(column)_state = 'pending',
                            \(column)_next_at_ms = ?, \(column)_attempts = 0,
                            \(column)_reason = NULL
                        WHERE id = ? AND \(column)_state IN ('failed', 'expired')
                        """
                    ).bind(.int(nowMillis), .int(conversionID)).run()
                    guard database.changes > 0 else { continue }
                    try database.statement(
                        """
                        UPDATE dead_letters SET resent_at_ms = ?
                        WHERE conversion_id = ? AND destination = ? AND resent_at_ms IS NULL
                        """
                    ).bind(.int(nowMillis), .int(conversionID), .text(column)).run()
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

    public func states(
        of conversionIDs: [Int64], at destination: Destination
    ) throws(JournalError) -> [Int64: String] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                "SELECT \(column)_state FROM conversions WHERE id = ?")
            var states: [Int64: String] = [:]
            for id in conversionIDs {
                statement.reset()
                try statement.bind(.int(id))
                if try statement.step() { states[id] = statement.text(0) ?? "" }
            }
            return states
        }
    }
}

/// Carries a resend's queued ids out of its write job.
private final class ResendBox: @unchecked Sendable {
    var ids: [Int64] = []
}
