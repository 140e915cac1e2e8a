extension ConsoleRenderer {
    /// The help screen: every binding of the table, by context, in two columns.
    func drawHelp(_ state: ConsoleState, on screen: inout Screen) {
        screen.put(" Key bindings   (? or Esc closes)", row: 1, column: 0, role: .title)
        let columnWidth = width / 2
        for (index, context) in Binding.Context.allCases.enumerated() {
            let left = index * columnWidth
            var row = 3
            screen.put(" \(context.rawValue)", row: row, column: left, role: .title)
            row += 1
            for binding in state.bindings.bindings where binding.context == context {
                let keys = Self.padded(binding.keyLabel, 11)
                var column = screen.put("   " + keys, row: row, column: left, role: .title)
                column = screen.put(binding.description, row: row, column: column, role: .text)
                if binding.isDangerous {
                    screen.put(" !", row: row, column: column, role: .warning)
                }
                row += 1
            }
            if index == 0 {
                row += 1
                screen.put(
                    "   ! changes the relay's state; it asks first.", row: row, column: left,
                    role: .dim)
                if !state.logPath.isEmpty {
                    // A notice longer than the window is cut; the log keeps all of it.
                    for line in ["   Status messages, in full, are in", "   \(state.logPath)"] {
                        row += 1
                        screen.put(line, row: row, column: left, role: .dim)
                    }
                }
            }
            for entry in state.bindings.disabled where entry.binding.context == context {
                row += 1
                screen.put(
                    "   \(entry.binding.keyLabel) disabled: --read-only", row: row,
                    column: left, role: .warning)
            }
        }
    }
}
