import RelayCore

extension ReconcileReport {
    /// The report as a table, with up to three examples per line.
    public func text(crmFile: String, journal: String, since: String?, threshold: Int) -> String {
        var lines = [
            "Reconcile \(crmFile) (\(crmRecords) CRM records) with \(journal)"
                + " (\(sentConversions) conversions sent)" + (since.map { " since \($0)" } ?? "")
        ]
        let rows: [(String, [Item], (Item) -> String)] = [
            (
                "in the CRM, never sent", crmOnly,
                { item in
                    "\(item.eventID) (record \(item.recordIDs.joined(separator: ", "))"
                        + (item.journalState.map { ", journal: \($0)" }
                            ?? ", unknown to the journal")
                        + ")"
                }
            ),
            ("sent, not in the CRM", journalOnly, { $0.eventID }),
            (
                "duplicated event_ids", duplicated,
                { item in
                    "\(item.eventID) (records \(item.recordIDs.joined(separator: ", ")))"
                }
            ),
            (
                "CRM records without event_id", missingEventID,
                { item in
                    "record \(item.recordIDs.first.map { $0.isEmpty ? "without id" : $0 } ?? "")"
                        + (item.line.map { " (line \($0))" } ?? "")
                }
            ),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        lines.append("  " + "matched".padding(width) + "  " + String(matched))
        for (title, items, describe) in rows {
            var line = "  " + title.padding(width) + "  " + String(items.count)
            if !items.isEmpty {
                line += "   e.g. " + items.prefix(3).map(describe).joined(separator: "; ")
            }
            lines.append(line)
        }
        if excludedCount > 0 {
            let reasons = ReconcileReport.Exclusion.allCases.compactMap { reason in
                excluded[reason].map { "\($0) \(reason.explanation)" }
            }
            lines.append(
                "  not compared: \(excludedCount) sent conversions never meant for the CRM ("
                    + reasons.joined(separator: "; ") + ")")
        }
        let verdict = mismatches > threshold ? "FAIL" : "ok"
        lines.append("\(mismatches) mismatches, threshold \(threshold): \(verdict)")
        return lines.joined(separator: "\n")
    }

    /// Every mismatch, for CI.
    public func json(crmFile: String, journal: String, sinceMillis: Int64?, threshold: Int)
        -> JSONValue
    {
        func items(_ list: [Item]) -> JSONValue {
            .array(
                list.map { item in
                    var object: [String: JSONValue] = [
                        "event_id": .string(item.eventID),
                        "record_ids": .array(item.recordIDs.map(JSONValue.string)),
                    ]
                    if let state = item.journalState { object["journal_state"] = .string(state) }
                    if let line = item.line { object["line"] = .integer(Int64(line)) }
                    return .object(object)
                })
        }
        var object: [String: JSONValue] = [
            "crm_file": .string(crmFile), "journal": .string(journal),
            "crm_records": .integer(Int64(crmRecords)),
            "sent_conversions": .integer(Int64(sentConversions)),
            "matched": .integer(Int64(matched)),
            "crm_only": items(crmOnly), "journal_only": items(journalOnly),
            "duplicated": items(duplicated), "missing_event_id": items(missingEventID),
            "excluded": .array(
                ReconcileReport.Exclusion.allCases.compactMap { reason in
                    excluded[reason].map { count in
                        .object([
                            "reason": .string(reason.rawValue),
                            "conversions": .integer(Int64(count)),
                            "explanation": .string(reason.explanation),
                        ])
                    }
                }),
            "mismatches": .integer(Int64(mismatches)),
            "max_mismatches": .integer(Int64(threshold)), "ok": .bool(mismatches <= threshold),
        ]
        if let sinceMillis { object["since"] = .string(QATime.format(millis: sinceMillis)) }
        return .object(object)
    }
}
