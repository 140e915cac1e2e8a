/// The one table of key bindings: key handling, the help screen and the footer all read it.
///
/// `--read-only` builds the table without the dangerous commands; their keys then map to a
/// reason, so that pressing one says why nothing happened instead of doing nothing silently.
public struct BindingTable: Sendable, Equatable {
    public private(set) var bindings: [Binding]
    /// Commands removed by a mode, with the sentence shown when their key is pressed.
    public private(set) var disabled: [(binding: Binding, reason: String)]

    public static func == (lhs: BindingTable, rhs: BindingTable) -> Bool {
        lhs.bindings == rhs.bindings && lhs.disabled.map(\.binding) == rhs.disabled.map(\.binding)
    }

    /// Every binding of the console, in the order help lists them.
    public static let all: [Binding] = [
        Binding(.moveUp, [.up, .character("k")], "Select the previous record"),
        Binding(.moveDown, [.down, .character("j")], "Select the next record"),
        Binding(.pageUp, [.pageUp], "Move one page up"),
        Binding(.pageDown, [.pageDown], "Move one page down"),
        Binding(.top, [.home, .character("g")], "Jump to the oldest record"),
        Binding(.bottom, [.end, .character("G")], "Jump to the newest record and follow"),
        Binding(.filterCycle, [.character("f")], "Cycle the filter", footer: "filter"),
        Binding(.filterAll, [.character("1")], "Show all records"),
        Binding(.filterFailed, [.character("2")], "Show failed deliveries only"),
        Binding(.filterDedupe, [.character("3")], "Show dedupe hits only"),
        Binding(.filterConsent, [.character("4")], "Show consent drops only"),
        Binding(.search, [.character("/")], "Search by event_id or user id", footer: "search"),
        Binding(.clearSearch, [.escape], "Clear the search"),
        Binding(.inspect, [.enter], "Inspect the selected event", footer: "inspect"),
        Binding(
            .resend, [.character("r")], "Re-send the selected event (asks first)",
            dangerous: true, footer: "re-send"),
        Binding(
            .togglePause, [.character("p"), .character(" ")], "Pause or resume the flow",
            footer: "pause"),
        Binding(.cycleTheme, [.character("t")], "Cycle the colour theme", footer: "theme"),
        Binding(.help, [.character("?")], "Show or hide this help", footer: "help"),
        Binding(.quit, [.character("q")], "Quit the console", footer: "quit"),
        Binding(
            .nextTab, [.tab, .right, .character("l")], "Next tab", context: .inspect,
            footer: "tab"),
        Binding(
            .previousTab, [.backTab, .left, .character("h")], "Previous tab",
            context: .inspect),
        Binding(.moveUp, [.up, .character("k")], "Scroll up", context: .inspect),
        Binding(.moveDown, [.down, .character("j")], "Scroll down", context: .inspect),
        Binding(.pageUp, [.pageUp], "Scroll one page up", context: .inspect),
        Binding(.pageDown, [.pageDown], "Scroll one page down", context: .inspect),
        Binding(
            .resend, [.character("r")], "Re-send this event (asks first)", context: .inspect,
            dangerous: true, footer: "re-send"),
        Binding(
            .closeView, [.escape, .character("q")], "Back to the flow", context: .inspect,
            footer: "back"),
    ]

    /// The table for a console; read-only drops every dangerous command.
    public init(readOnly: Bool) {
        bindings = []
        disabled = []
        for binding in Self.all {
            if readOnly && binding.isDangerous {
                disabled.append(
                    (binding, "Re-send is disabled: this console was started with --read-only."))
            } else {
                bindings.append(binding)
            }
        }
    }

    /// The command a key runs in a context, if any.
    public func command(for key: Key, in context: Binding.Context) -> CommandID? {
        bindings.first { $0.context == context && $0.keys.contains(key) }?.command
    }

    /// Why a key does nothing in this mode, when it belongs to a disabled command.
    public func disabledReason(for key: Key, in context: Binding.Context) -> String? {
        disabled.first { $0.binding.context == context && $0.binding.keys.contains(key) }?.reason
    }

    /// The first key that runs `command` in `context`; tests press keys through this.
    public func key(for command: CommandID, in context: Binding.Context = .flow) -> Key? {
        bindings.first { $0.command == command && $0.context == context }?.keys.first
    }

    /// The footer hints for a context: "Enter inspect", "r re-send", …
    public func footer(for context: Binding.Context) -> [Binding] {
        bindings.filter { $0.context == context && $0.footerHint != nil }
    }
}
