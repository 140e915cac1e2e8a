import RelayCore

extension QAReport {
    /// The checklist as a person reads it: one line per check, then the coverage tables.
    public func text(journal: String, since: String?) -> String {
        var lines = [
            "QA checklist: \(conversions) conversions in \(journal)"
                + (since.map { " since \($0)" } ?? "")
        ]
        let width = (checks.map(\.id.count).max() ?? 0) + 2
        for check in checks {
            var line =
                "\(check.status.rawValue.uppercased().padding(4))  "
                + check.id.padding(width) + check.summary
            if !check.examples.isEmpty {
                line += "; e.g. " + check.examples.joined(separator: ", ")
            }
            lines.append(line)
        }

        lines.append("")
        lines.append("Pixel coverage")
        lines += Self.pixelTable(pixelCoverage)
        lines.append("")
        lines.append("Match keys (share of conversions carrying each)")
        lines += Self.matchKeyTable(matchKeys)

        if let comparison = shadowComparison {
            lines.append("")
            lines.append("Shadow (journaled, not sent) against sent, and against the pixel")
            lines += Self.comparisonTable(comparison)
            lines.append("")
            lines.append("Match keys, shadow")
            lines += Self.matchKeyTable(comparison.shadowMatchKeys)
            lines.append("Match keys, sent")
            lines += Self.matchKeyTable(comparison.sentMatchKeys)
        }

        let failed = checks.filter { $0.status == .fail }.count
        let passed = checks.filter { $0.status == .pass }.count
        lines.append("")
        lines.append("\(passed) passed, \(failed) failed")
        return lines.joined(separator: "\n")
    }

    /// The same as JSON, for CI.
    public func json(journal: String, sinceMillis: Int64?) -> JSONValue {
        var object: [String: JSONValue] = [
            "journal": .string(journal),
            "conversions": .integer(Int64(conversions)),
            "ok": .bool(passed),
            "checks": .array(
                checks.map { check in
                    .object([
                        "id": .string(check.id), "status": .string(check.status.rawValue),
                        "checked": .integer(Int64(check.checked)),
                        "failed": .integer(Int64(check.failed)),
                        "summary": .string(check.summary),
                        "examples": .array(check.examples.map(JSONValue.string)),
                    ])
                }),
            "pixel_coverage": Self.pixelJSON(pixelCoverage),
            "match_keys": Self.matchKeyJSON(matchKeys),
        ]
        if let sinceMillis { object["since"] = .string(QATime.format(millis: sinceMillis)) }
        if let comparison = shadowComparison {
            object["shadow_comparison"] = .object([
                "shadow": .object([
                    "pixel_coverage": Self.pixelJSON(comparison.shadowPixel),
                    "match_keys": Self.matchKeyJSON(comparison.shadowMatchKeys),
                ]),
                "sent": .object([
                    "pixel_coverage": Self.pixelJSON(comparison.sentPixel),
                    "match_keys": Self.matchKeyJSON(comparison.sentMatchKeys),
                ]),
            ])
        }
        return .object(object)
    }

    static func pixelTable(_ rows: [PixelCoverage]) -> [String] {
        guard !rows.isEmpty else { return ["  No conversions and no pixel echoes in the period."] }
        var table = [["event", "conversions", "seen by pixel", "share", "pixel only"]]
        for row in rows {
            table.append([
                row.eventName, "\(row.conversions)", "\(row.seenByPixel)",
                QAChecklist.percent(row.seenByPixel, row.conversions), "\(row.pixelOnly)",
            ])
        }
        return layout(table)
    }

    static func matchKeyTable(_ rows: [MatchKeyCoverage]) -> [String] {
        guard !rows.isEmpty else { return ["  No conversions in the period."] }
        var table = [["event", "n"] + QAChecklist.matchKeys]
        for row in rows {
            table.append(
                [row.eventName, "\(row.conversions)"]
                    + QAChecklist.matchKeys.map {
                        QAChecklist.percent(row.carrying[$0] ?? 0, row.conversions)
                    })
        }
        return layout(table)
    }

    static func comparisonTable(_ comparison: ShadowComparison) -> [String] {
        let names = Set(
            (comparison.shadowPixel + comparison.sentPixel).map(\.eventName)
        ).sorted()
        guard !names.isEmpty else { return ["  No conversions and no pixel echoes in the period."] }
        var table = [
            ["event", "pixel (before)", "shadow", "sent", "shadow ∩ pixel", "shadow only"]
        ]
        for name in names {
            let shadow = comparison.shadowPixel.first { $0.eventName == name }
            let sent = comparison.sentPixel.first { $0.eventName == name }
            // Echoes of this name: those a shadow conversion matched plus those none did.
            let pixel = (shadow?.seenByPixel ?? 0) + (shadow?.pixelOnly ?? 0)
            table.append([
                name, "\(pixel)", "\(shadow?.conversions ?? 0)", "\(sent?.conversions ?? 0)",
                "\(shadow?.seenByPixel ?? 0)",
                "\((shadow?.conversions ?? 0) - (shadow?.seenByPixel ?? 0))",
            ])
        }
        return layout(table)
    }

    static func pixelJSON(_ rows: [PixelCoverage]) -> JSONValue {
        .object(
            Dictionary(
                uniqueKeysWithValues: rows.map { row in
                    (
                        row.eventName,
                        JSONValue.object([
                            "conversions": .integer(Int64(row.conversions)),
                            "seen_by_pixel": .integer(Int64(row.seenByPixel)),
                            "pixel_only": .integer(Int64(row.pixelOnly)),
                        ])
                    )
                }))
    }

    static func matchKeyJSON(_ rows: [MatchKeyCoverage]) -> JSONValue {
        .object(
            Dictionary(
                uniqueKeysWithValues: rows.map { row in
                    var members: [String: JSONValue] = [
                        "conversions": .integer(Int64(row.conversions))
                    ]
                    for key in QAChecklist.matchKeys {
                        members[key] = .integer(Int64(row.carrying[key] ?? 0))
                    }
                    return (row.eventName, JSONValue.object(members))
                }))
    }

    /// Columns padded to their widest cell, the first left-aligned, the rest right-aligned.
    static func layout(_ rows: [[String]]) -> [String] {
        let count = rows.map(\.count).max() ?? 0
        let widths = (0..<count).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        return rows.map { row in
            var line = "  "
            for (column, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: max(widths[column] - cell.count, 0))
                line += column == 0 ? cell + pad : "  " + pad + cell
            }
            return line
        }
    }
}

extension String {
    /// Padded with spaces to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
