/// One row of the binding table: a command, the keys that run it and how help describes it.
public struct Binding: Sendable, Equatable {
    /// Where a binding applies. The same key may mean different things in different places
    /// (`q` quits from the flow but closes the inspect view), never two things in one.
    public enum Context: String, Sendable, CaseIterable {
        case flow = "Flow"
        case inspect = "Inspect"
    }

    public var command: CommandID
    public var keys: [Key]
    public var description: String
    public var context: Context
    /// Whether the command changes something outside the console; such commands confirm first,
    /// name their target, and are removed by `--read-only`.
    public var isDangerous: Bool
    /// The word the footer shows next to the key ("inspect"); nil keeps it out of the footer.
    /// Help always lists every binding, with its full description.
    public var footerHint: String?

    public init(
        _ command: CommandID, _ keys: [Key], _ description: String, context: Context = .flow,
        dangerous: Bool = false, footer: String? = nil
    ) {
        self.command = command
        self.keys = keys
        self.description = description
        self.context = context
        self.isDangerous = dangerous
        self.footerHint = footer
    }

    /// "↑ k", as help lists the keys.
    public var keyLabel: String { keys.map(\.label).joined(separator: " ") }
}
