import Testing

@testable import RelayConsole

@Suite("Binding table")
struct BindingTableTests {
    @Test func noKeyMeansTwoThingsInOneContext() {
        for context in Binding.Context.allCases {
            var seen: [Key: CommandID] = [:]
            for binding in BindingTable(readOnly: false).bindings where binding.context == context {
                for key in binding.keys {
                    #expect(seen[key] == nil, "\(key.label) is bound twice in \(context)")
                    seen[key] = binding.command
                }
            }
        }
    }

    @Test func everyDangerousCommandIsGoneInReadOnly() {
        let table = BindingTable(readOnly: true)
        #expect(!table.bindings.contains { $0.isDangerous })
        #expect(table.footer(for: .flow).allSatisfy { $0.command != .resend })
        #expect(
            table.disabledReason(for: .character("r"), in: .flow)?.contains("--read-only") == true)
    }

    @Test func footerShowsResendOnlyWhenAllowed() {
        #expect(BindingTable(readOnly: false).footer(for: .flow).contains { $0.command == .resend })
    }
}
