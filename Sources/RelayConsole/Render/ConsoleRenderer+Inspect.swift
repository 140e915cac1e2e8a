extension ConsoleRenderer {
    /// The inspect screen: tabs across the top, the tab's JSON pretty-printed below.
    func drawInspect(_ view: InspectView, state: ConsoleState, on screen: inout Screen) {
        screen.put(" Inspect \(view.eventID)", row: 1, column: 0, role: .title)

        // Tabs: the current one is bracketed as well as highlighted, for monochrome and tests.
        var column = 1
        for tab in InspectView.Tab.allCases {
            let selected = tab == view.tab
            let label = selected ? "[\(tab.rawValue)]" : " \(tab.rawValue) "
            column = screen.put(label, row: 2, column: column, role: selected ? .selected : .dim)
            column += 1
        }

        let top = 4
        let rows = height - top - 2
        if let error = view.error {
            screen.put("   \(error)", row: top, column: 0, role: .warning)
            return
        }
        guard view.result != nil else {
            screen.put("   Waiting for the relay's answer…", row: top, column: 0, role: .dim)
            return
        }
        let lines = view.lines
        let first = min(view.scroll, max(lines.count - rows, 0))
        for (offset, line) in lines[first...].prefix(rows).enumerated() {
            screen.put("  " + line, row: top + offset, column: 0, role: .text)
        }
        let last = min(first + rows, lines.count)
        let position = "lines \(lines.isEmpty ? 0 : first + 1)–\(last) of \(lines.count) "
        screen.put(position, row: 1, column: width - position.count, role: .dim)
    }
}
