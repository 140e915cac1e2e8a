/// A colour theme: a style for every role.
public struct Theme: Sendable, Equatable {
    /// A terminal colour: the terminal's own default, or an index into its palette (0–255).
    public enum Color: Sendable, Hashable {
        case terminalDefault
        case index(Int)
    }

    public enum Attribute: String, Sendable, CaseIterable {
        case bold, dim, reverse, underline, standout
    }

    /// How text in one role looks.
    public struct Style: Sendable, Hashable {
        public var foreground: Color
        public var background: Color
        public var attributes: Set<Attribute>

        public init(
            _ foreground: Color = .terminalDefault, _ background: Color = .terminalDefault,
            _ attributes: Set<Attribute> = []
        ) {
            self.foreground = foreground
            self.background = background
            self.attributes = attributes
        }
    }

    public var name: String
    public var styles: [ThemeRole: Style]

    public init(name: String, styles: [ThemeRole: Style]) {
        self.name = name
        self.styles = styles
    }

    /// The style of a role; a theme that leaves a role out shows it as plain text.
    public subscript(role: ThemeRole) -> Style { styles[role] ?? Style() }

    /// The theme with colours removed and only attributes kept, for `NO_COLOR` and terminals
    /// without colour. A role whose meaning rode on colour alone gets a distinguishing
    /// attribute from the built-in monochrome theme instead.
    public var withoutColor: Theme {
        var styles: [ThemeRole: Style] = [:]
        for role in ThemeRole.allCases {
            var attributes = self[role].attributes
            if attributes.isEmpty { attributes = BuiltinThemes.monochrome[role].attributes }
            styles[role] = Style(.terminalDefault, .terminalDefault, attributes)
        }
        return Theme(name: name, styles: styles)
    }
}
