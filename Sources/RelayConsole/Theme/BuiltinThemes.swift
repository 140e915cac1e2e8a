/// The shipped themes, compiled in so that the console works with no `Themes/` directory
/// (an installed binary, a container). A test checks that each text here equals its file under
/// `Themes/`, so the two cannot drift apart.
public enum BuiltinThemes {
    /// Theme names in the order `t` cycles through them.
    public static let names = ["default", "monochrome", "high-contrast", "colorblind"]

    /// The text of each built-in theme file, by name.
    public static let texts: [String: String] = [
        "default": #"""
        # capi-relay console: the default theme, for terminals with 8 colours or more.
        # One role per line: role = foreground background [attributes]
        # Colours: default, a name (red, bright-red, gray, ...) or a palette number 0-255.
        # Attributes: bold dim reverse underline standout, or none.
        text        = default       default
        dim         = bright-black  default
        header      = default       default  reverse bold
        title       = cyan          default  bold
        selected    = default       default  reverse
        ok          = green         default
        dedupe      = cyan          default
        consentDrop = magenta       default
        failed      = red           default  bold
        deadLetter  = white         red      bold
        warning     = yellow        default  bold
        """#,
        "monochrome": #"""
        # capi-relay console: no colour at all, only bold, dim, reverse and underline. Used for
        # NO_COLOR and terminals without colour; every flow line also carries a glyph and a word.
        text        = default default none
        dim         = default default dim
        header      = default default reverse bold
        title       = default default bold underline
        selected    = default default reverse
        ok          = default default none
        dedupe      = default default dim
        consentDrop = default default underline
        failed      = default default bold
        deadLetter  = default default bold underline
        warning     = default default bold
        """#,
        "high-contrast": #"""
        # capi-relay console: bright colours and bold text, for projectors and low vision.
        text        = bright-white   default
        dim         = white          default
        header      = black          bright-yellow  bold
        title       = bright-yellow  default        bold underline
        selected    = black          bright-white   bold
        ok          = bright-green   default        bold
        dedupe      = bright-cyan    default        bold
        consentDrop = bright-magenta default        bold
        failed      = bright-white   red            bold
        deadLetter  = bright-yellow  red            bold underline
        warning     = black          bright-yellow  bold
        """#,
        "colorblind": #"""
        # capi-relay console: an Okabe-Ito palette, distinct under the common colour blindnesses.
        # Success is sky blue rather than green and failure vermillion rather than
        # red, so the two never depend on telling red from green. Needs a 256-colour terminal; with
        # fewer colours the attributes still tell roles apart.
        text        = default  default
        dim         = 245      default
        header      = black    74       bold
        title       = 74       default  bold
        selected    = default  default  reverse
        ok          = 74       default
        dedupe      = 36       default
        consentDrop = 175      default
        failed      = 166      default  bold
        deadLetter  = 214      default  bold underline
        warning     = 227      default  bold
        """#,
    ]

    /// Every built-in theme, parsed; the default theme is the fallback for a bad line.
    public static let all: [Theme] = names.map { name in
        Theme.parse(texts[name]!, name: name, path: "(built-in \(name))", fallback: standard).theme
    }

    /// The default theme. Parsed against a plain style so that it has no fallback of its own.
    public static let standard: Theme =
        Theme.parse(
            texts["default"]!, name: "default", path: "(built-in default)",
            fallback: Theme(name: "plain", styles: [:])
        ).theme

    public static var monochrome: Theme { all[1] }
}
