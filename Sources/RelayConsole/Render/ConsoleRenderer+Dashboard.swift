extension ConsoleRenderer {
    /// Rows of the failures pane's list, by screen height.
    func failureRows() -> Int { height >= 28 ? 5 : 3 }

    /// Destination lines shown; more are summarised on the last one.
    func destinationRows(for state: ConsoleState) -> Int {
        min(max(state.stats.destinations.count, 1), 4)
    }

    /// Every row except the flow's lines: header, totals (3), coverage, destinations (title
    /// and lines), flow title, failures (title and lines), status and footer.
    func fixedRows(for state: ConsoleState) -> Int {
        1 + 3 + 1 + 1 + destinationRows(for: state) + 1 + 1 + failureRows() + 2
    }

    func drawDashboard(_ state: ConsoleState, on screen: inout Screen) {
        var row = 1
        drawTotals(state, row: &row, on: &screen)
        drawCoverage(state, row: &row, on: &screen)
        drawDestinations(state, row: &row, on: &screen)
        drawFlow(state, row: &row, on: &screen)
        drawFailures(state, row: row, on: &screen)
    }

    // MARK: Since start

    /// The relay's counters since it started (the feed's stats), not the journal's totals: a
    /// restart begins them at zero, as Prometheus counters do.
    private func drawTotals(_ state: ConsoleState, row: inout Int, on screen: inout Screen) {
        let stats = state.stats
        // (heading, count, rate counter or nil when a rate means nothing, role when non-zero)
        let columns: [(String, Int64, String?, ThemeRole)] = [
            ("received", stats["received"], "received", .text),
            ("sent", stats["sent"], "sent", .ok),
            ("dedupe", stats["dedupe_hits"], "dedupe_hits", .dedupe),
            ("consent", stats["consent_drops"], "consent_drops", .consentDrop),
            ("failed", stats["failed"] + stats["expired"], "failed", .failed),
            ("dead letter", stats["dead_letters"], "dead_letters", .deadLetter),
            ("queue", stats["pending"] + stats["crm_pending"], nil, .warning),
        ]
        let labelWidth = 12
        let columnWidth = 12
        screen.put(" Since start", row: row, column: 0, role: .title)
        screen.put(" count", row: row + 1, column: 0, role: .dim)
        screen.put(" per second", row: row + 2, column: 0, role: .dim)
        for (index, column) in columns.enumerated() {
            let x = labelWidth + index * columnWidth
            screen.put(
                Self.rightAligned(column.0, columnWidth - 1), row: row, column: x, role: .title)
            let role: ThemeRole = column.1 == 0 ? .text : column.3
            screen.put(
                Self.rightAligned(String(column.1), columnWidth - 1), row: row + 1, column: x,
                role: role)
            let rate = column.2.map { Self.rate(state.rates[$0]) } ?? "—"
            screen.put(
                Self.rightAligned(rate, columnWidth - 1), row: row + 2, column: x, role: .dim)
        }
        row += 3
    }

    // MARK: Coverage

    /// One line: the pixel's coverage, then per event name the share of conversions carrying
    /// each match key, the relay's own estimate of match quality.
    private func drawCoverage(_ state: ConsoleState, row: inout Int, on screen: inout Screen) {
        let stats = state.stats
        screen.put(" Coverage", row: row, column: 0, role: .title)
        var text = "pixel " + (stats.pixelCoverage.map(Self.percent) ?? "–")
        if stats.matchKeys.isEmpty {
            text += "   match keys: no conversions yet"
        }
        for entry in stats.matchKeys {
            let shares = Self.matchKeyLabels.map { key, label in
                "\(label) \(Self.percent(entry.share(key)))"
            }
            text += "   \(entry.eventName) (\(entry.conversions)): " + shares.joined(separator: " ")
        }
        // The screen clips it, ending in … where the line runs out.
        screen.put(text, row: row, column: 12, role: .text)
        row += 1
    }

    /// Match keys in the order shown, with their short labels.
    static let matchKeyLabels: [(String, String)] = [
        ("page_scoped_user_id", "psid"), ("em", "em"), ("ph", "ph"), ("external_id", "ext"),
        ("fbc", "fbc"), ("fbp", "fbp"),
    ]

    static func percent(_ share: Double) -> String {
        "\(Int((share * 100).rounded()))%"
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "–" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func rightAligned(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width
            ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
    }

    // MARK: Destinations

    private func drawDestinations(_ state: ConsoleState, row: inout Int, on screen: inout Screen) {
        screen.put(" Destinations", row: row, column: 0, role: .title)
        row += 1
        let destinations = state.stats.destinations
        let shown = destinationRows(for: state)
        guard !destinations.isEmpty else {
            let text =
                state.connection == .connected
                ? "   No destinations reported yet: the relay has sent no stats."
                : "   No destinations yet: waiting for the relay's snapshot."
            screen.put(text, row: row, column: 0, role: .dim)
            row += 1
            return
        }
        for (index, destination) in destinations.prefix(shown).enumerated() {
            if index == shown - 1 && destinations.count > shown {
                let text = "   … and \(destinations.count - shown + 1) more destinations"
                screen.put(text, row: row, column: 0, role: .dim)
            } else {
                drawDestination(
                    destination, stale: state.connection != .connected, row: row, on: &screen)
            }
            row += 1
        }
    }

    /// - Parameter stale: the feed is down, so this is the last word heard, not the present.
    private func drawDestination(
        _ destination: DestinationHealth, stale: Bool, row: Int, on screen: inout Screen
    ) {
        // A last error newer than the last success means the destination is failing now;
        // ISO-8601 stamps in one format compare correctly as text.
        let failing =
            destination.lastErrorAt.map { $0 > (destination.lastSuccessAt ?? "") } ?? false
        let (status, role): (String, ThemeRole) =
            stale
            ? ("? unknown", .dim)
            : destination.paused
                ? ("\(glyphs.paused) paused", .warning)
                : failing
                    ? ("\(glyphs.failing) failing", .failed) : ("\(glyphs.healthy) healthy", .ok)
        var column = screen.put(
            "   " + Self.padded(destination.name, 24), row: row, column: 0, role: .text)
        column = screen.put(Self.padded(status, 11), row: row, column: column, role: role)
        let success =
            destination.lastSuccessAt.map { Self.timeOfDay($0, milliseconds: false) } ?? "never"
        column = screen.put(
            Self.padded("last success \(success)", 22), row: row, column: column, role: .text)
        column = screen.put(
            Self.padded("backlog \(destination.backlog)", 14), row: row, column: column,
            role: destination.backlog > 0 ? .warning : .text)
        if destination.paused, let reason = destination.pausedReason {
            screen.put(
                "ALERT fix, then SIGHUP: \(reason)", row: row,
                column: column, role: .failed)
        } else if let error = destination.lastError {
            let at = destination.lastErrorAt.map { Self.timeOfDay($0, milliseconds: false) } ?? "?"
            screen.put(
                "last error \(at) \(error)", row: row, column: column,
                role: failing ? .failed : .dim)
        } else {
            screen.put("no errors", row: row, column: column, role: .dim)
        }
    }

    // MARK: Flow

    private func drawFlow(_ state: ConsoleState, row: inout Int, on screen: inout Screen) {
        let visible = state.visibleFlow
        var title = " Flow \(glyphs.separator) filter \(state.filter.rawValue)"
        if !state.search.isEmpty { title += " \(glyphs.separator) search \"\(state.search)\"" }
        title += " \(glyphs.separator) \(visible.count) of \(state.flow.count) lines"
        if state.selectedID == nil { title += " \(glyphs.separator) following" }
        var column = screen.put(title, row: row, column: 0, role: .title)
        if state.isPaused {
            column = screen.put(
                " \(glyphs.separator) PAUSED, \(state.held.count) new held (p resumes)", row: row,
                column: column, role: .warning)
        }
        if state.missedTotal > 0 {
            screen.put(
                " \(glyphs.separator) \(state.missedTotal) missed", row: row, column: column,
                role: .warning)
        }
        row += 1

        let lines = flowHeight(for: state)
        defer { row += lines }
        guard !visible.isEmpty else {
            screen.put("   " + emptyFlowText(state), row: row, column: 0, role: .dim)
            return
        }
        let selected =
            state.selectedEntry.flatMap { entry in
                visible.firstIndex { $0.id == entry.id }
            } ?? visible.count - 1
        // The selection stays on screen; scrolled back it sits on the top line, which keeps
        // the window still while moving down again.
        let start = max(min(selected, visible.count - lines), 0)
        for (offset, entry) in visible[start...].prefix(lines).enumerated() {
            let y = row + offset
            drawFlowEntry(entry, row: y, on: &screen)
            if start + offset == selected {
                screen.fill(row: y, role: .selected)
                screen.put(glyphs.cursor, row: y, column: 0, role: .selected)
            }
        }
    }

    private func emptyFlowText(_ state: ConsoleState) -> String {
        if !state.search.isEmpty {
            return "No record matches \"\(state.search)\". Esc clears the search."
        }
        let key = state.bindings.key(for: .filterAll)?.label ?? "1"
        switch state.filter {
        case .all:
            return state.connection == .connected
                ? "No records yet: waiting for webhooks to reach the relay."
                : "No records yet: not connected to the relay."
        case .failed: return "No failed deliveries in the flow. Press \(key) to show all records."
        case .dedupe: return "No dedupe hits in the flow. Press \(key) to show all records."
        case .consent: return "No consent drops in the flow. Press \(key) to show all records."
        }
    }

    private func drawFlowEntry(_ entry: FlowEntry, row: Int, on screen: inout Screen) {
        switch entry.content {
        case .missed(let count):
            screen.put(
                "   \(glyphs.warning) missed \(count) records: the console fell behind the relay",
                row: row, column: 0, role: .warning)
        case .record(let record):
            drawRecordLine(record, row: row, on: &screen)
        }
    }

    func drawRecordLine(_ record: ReceivedRecord, row: Int, on screen: inout Screen) {
        let (word, role) = Self.stageWord(record)
        var column = screen.put(
            "  " + Self.padded(Self.timeOfDay(record.time), 13), row: row, column: 0, role: .dim)
        column = screen.put(
            Self.padded("\(glyphs.stage(record.stage)) \(word)", 15), row: row, column: column,
            role: role)
        screen.put(
            Self.detail(of: record), row: row, column: column, role: role == .dim ? .dim : .text)
    }

    static func stageWord(_ record: ReceivedRecord) -> (String, ThemeRole) {
        switch record.stage {
        case .received?: ("received", .text)
        case .mapped?: ("mapped", .text)
        case .notConversion?: ("not conv.", .dim)
        case .dedupeHit?: ("dedupe hit", .dedupe)
        case .consentDropped?: ("consent drop", .consentDrop)
        case .queued?: ("queued", .text)
        case .sent?: ("sent", .ok)
        // An attempt that will be tried again is not a failure yet; say which it is.
        case .attemptFailed?:
            record.fields["next_retry_at"]?.stringValue != nil
                ? ("retrying", .warning) : ("failed", .failed)
        case .expired?: ("expired", .failed)
        case .deadLettered?: ("dead letter", .deadLetter)
        case .resent?: ("re-sent", .warning)
        case .bisected?: ("split", .warning)
        case .paused?: ("PAUSED", .failed)
        case .resumed?: ("resumed", .ok)
        case .outage?: ("OUTAGE", .failed)
        case .recovered?: ("recovered", .ok)
        case nil: (record.rawStage, .text)
        }
    }

    /// " page P user U" for a record about a Messenger person; nothing for an event without
    /// one (a website visitor's server event), rather than labels with no values.
    private static func person(of record: ReceivedRecord) -> String {
        let page = record.text("page_id") ?? ""
        let user = record.text("psid") ?? ""
        guard !page.isEmpty || !user.isEmpty else { return "" }
        return " page \(page.isEmpty ? "?" : page) user \(user.isEmpty ? "?" : user)"
    }

    /// The rest of a flow line: what this stage says about the event, most telling first.
    static func detail(of record: ReceivedRecord) -> String {
        func value(_ key: String) -> String { record.text(key) ?? "?" }
        let ids = record.eventIDs
        let idText = ids.count > 1 ? "\(ids[0]) +\(ids.count - 1)" : (ids.first ?? "")
        switch record.stage {
        case .received?:
            let items = record.fields["items"]?.integerValue ?? 0
            return "\(value("source")) delivery \(value("delivery_id")), \(items) "
                + (items == 1 ? "item" : "items")
        case .mapped?:
            return "\(value("event_name")) \(idText) rule \(value("rule"))" + person(of: record)
        case .notConversion?:
            // A server event's kind says no more than where it came from: /v1/events, the
            // CAPI-compatible endpoint or a CRM echo.
            let kind = value("kind")
            let origin = kind == "server_event" ? record.text("source") ?? kind : kind
            return "\(origin): \(value("reason"))" + person(of: record)
        case .dedupeHit?:
            // The source says what repeated the event: a redelivery, the CRM echoing it, a
            // server event.
            let source = record.text("source").map { " from \($0)" } ?? ""
            return "\(value("event_name")) \(idText) matched \(value("matched_event_id")) "
                + "rule \(value("rule"))\(source)" + person(of: record)
        case .consentDropped?:
            let fields = record.fields["fields"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return "\(idText) fields removed: \(fields.joined(separator: ", "))"
        case .queued?:
            return "\(idText) for \(value("destination"))"
        case .sent?:
            // Only Meta answers with events_received and fbtrace_id; a CRM post has neither.
            guard record.fields["fbtrace_id"]?.stringValue != nil else {
                return "\(value("destination")) \(idText) HTTP \(value("status"))"
            }
            return "\(value("destination")) \(idText) events_received \(value("events_received")) "
                + "fbtrace_id \(value("fbtrace_id"))"
        case .attemptFailed?:
            return "\(value("destination")) \(idText) \(failureSummary(record))"
        case .expired?, .deadLettered?:
            return "\(idText) \(value("reason"))"
        case .resent?:
            return "\(idText) queued again"
        case .bisected?:
            return "\(value("destination")) \(value("dataset")) batch of \(value("events")) split"
                + " in two: \(value("message"))"
        case .paused?:
            return "\(value("destination")) \(value("reason")): \(value("alert"))"
        case .resumed?:
            return "\(value("destination")) sends again after a config reload"
        case .outage?:
            return "\(value("destination")) down after \(value("failed_attempts")) failed"
                + " attempts: \(value("message"))"
        case .recovered?:
            let seconds = Double(record.fields["down_for_ms"]?.integerValue ?? 0) / 1000
            return "\(value("destination")) back after \(String(format: "%.1f", seconds)) s,"
                + " \(value("failed_attempts")) failed attempts"
        case nil:
            return record.fields.serializedString
        }
    }

    /// "HTTP 400 code 100: message, retry 12:00:05" for an attempt_failed record.
    static func failureSummary(_ record: ReceivedRecord) -> String {
        var parts: [String] = []
        if let status = record.text("status") { parts.append("HTTP \(status)") }
        if let code = record.text("code") { parts.append("code \(code)") }
        if let subcode = record.text("subcode") { parts.append("subcode \(subcode)") }
        var text = parts.joined(separator: " ")
        if let message = record.text("message") { text += (text.isEmpty ? "" : ": ") + message }
        if let retry = record.text("next_retry_at") {
            text += ", retry \(timeOfDay(retry, milliseconds: false))"
        } else if record.stage == .attemptFailed {
            text += ", no retry"
        }
        return text
    }

    // MARK: Failures

    private func drawFailures(_ state: ConsoleState, row: Int, on screen: inout Screen) {
        let count = state.failures.count
        let more = count >= ConsoleState.failureCapacity ? "+" : ""
        screen.put(" Failures, newest first (\(count)\(more))", row: row, column: 0, role: .title)
        guard !state.failures.isEmpty else {
            screen.put("   No failed deliveries yet.", row: row + 1, column: 0, role: .dim)
            return
        }
        for (offset, record) in state.failures.prefix(failureRows()).enumerated() {
            drawRecordLine(record, row: row + 1 + offset, on: &screen)
        }
    }
}
