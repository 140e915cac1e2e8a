import Testing

@testable import RelayConsole

extension ConsoleState {
    /// A console as it starts, before any feed line.
    static func fresh(readOnly: Bool = false) -> ConsoleState {
        ConsoleState(bindings: BindingTable(readOnly: readOnly), themeNames: BuiltinThemes.names)
    }

    /// Applies feed lines as the driver would.
    mutating func feed(_ lines: [String], now: Double = 1_796_299_200) {
        for line in lines { apply(FeedMessage(line: line), now: now) }
    }

    /// Presses the first key bound to `command`, so tests follow the binding table.
    @discardableResult
    mutating func press(
        _ command: CommandID, in context: Binding.Context = .flow, now: Double = 1_796_299_200
    ) -> [ConsoleAction] {
        guard let key = bindings.key(for: command, in: context) else {
            Issue.record("no key is bound to \(command) in \(context)")
            return []
        }
        return handle(key, now: now)
    }

    @discardableResult
    mutating func type(_ text: String, now: Double = 1_796_299_200) -> [ConsoleAction] {
        text.flatMap { handle(.character($0), now: now) }
    }
}
