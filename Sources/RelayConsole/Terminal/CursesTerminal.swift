import CNcursesw
import Glibc

/// The only place that talks to curses: starts and ends the screen, maps themes to colour
/// pairs, copies a `Screen` to the terminal and turns key codes into `Key`s.
///
/// Everything above this type works on values, so the rest of the console is testable without
/// a terminal; this file is exercised by the tmux tests instead.
final class CursesTerminal {
    private(set) var rows = 0
    private(set) var columns = 0
    /// Whether colours may be used: the terminal has them and `NO_COLOR` is not set.
    let usesColor: Bool
    /// Whether the locale is UTF-8, so that the Unicode glyphs can be shown.
    let isUTF8: Bool
    /// Curses attributes per role, colour pair included, for the current theme.
    private var attributes: [ThemeRole: (attr_t, Int16)] = [:]

    /// Takes over the terminal. Call `end()` on every way out; `TerminalGuard` covers signals.
    init(colorAllowed: Bool) {
        setlocale(LC_ALL, "")
        isUTF8 = String(cString: nl_langinfo(nl_item(CODESET))) == "UTF-8"
        _ = initscr()
        cbreak()
        noecho()
        nonl()
        keypad(capi_stdscr(), true)
        nodelay(capi_stdscr(), true)
        curs_set(0)
        // Esc must close a view promptly; curses otherwise waits a second for a sequence.
        set_escdelay(25)
        if colorAllowed && has_colors() {
            start_color()
            use_default_colors()
            usesColor = true
        } else {
            usesColor = false
        }
        updateSize()
    }

    /// Gives the terminal back: cooked mode, cursor shown, screen as it was.
    func end() {
        curs_set(1)
        TerminalGuard.restore()
    }

    func updateSize() {
        var y: Int32 = 0
        var x: Int32 = 0
        capi_screen_size(&y, &x)
        rows = Int(y)
        columns = Int(x)
    }

    /// Uses `theme` for the next draws; without colour only its attributes count.
    func apply(_ theme: Theme) {
        let effective = usesColor ? theme : theme.withoutColor
        let colorCount = Int(capi_colors())
        for (index, role) in ThemeRole.allCases.enumerated() {
            let style = effective[role]
            var pair: Int16 = 0
            if usesColor && index + 1 < Int(capi_color_pairs()) {
                pair = Int16(index + 1)
                // A palette number the terminal lacks falls back to its default colour; the
                // role's attributes still set it apart.
                func number(_ color: Theme.Color) -> Int16 {
                    guard case .index(let value) = color, value < colorCount else { return -1 }
                    return Int16(value)
                }
                init_pair(pair, number(style.foreground), number(style.background))
            }
            var bits = capi_a_normal()
            for attribute in style.attributes {
                switch attribute {
                case .bold: bits |= capi_a_bold()
                case .dim: bits |= capi_a_dim()
                case .reverse: bits |= capi_a_reverse()
                case .underline: bits |= capi_a_underline()
                case .standout: bits |= capi_a_standout()
                }
            }
            attributes[role] = (bits, pair)
        }
    }

    /// Copies `screen` to the terminal, in runs of one role.
    func draw(_ screen: Screen) {
        erase()
        for (y, row) in screen.rows.enumerated() {
            var x = 0
            while x < row.count {
                let role = row[x].role
                var run: [wchar_t] = []
                let start = x
                while x < row.count && row[x].role == role {
                    run += row[x].character.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
                    x += 1
                }
                let (bits, pair) = attributes[role] ?? (capi_a_normal(), 0)
                _ = capi_set_attributes(bits, pair)
                _ = capi_draw(Int32(y), Int32(start), run, Int32(run.count))
            }
        }
        _ = capi_set_attributes(capi_a_normal(), 0)
        refresh()
    }

    /// Every key pressed since the last call; never waits.
    func readKeys() -> [Key] {
        var keys: [Key] = []
        while true {
            var code: wint_t = 0
            let result = wget_wch(capi_stdscr(), &code)
            if result == ERR { break }
            if result == KEY_CODE_YES {
                if let key = Self.functionKey(Int32(code)) { keys.append(key) }
                if Int32(code) == KEY_RESIZE { updateSize() }
            } else if let key = Self.characterKey(UInt32(code)) {
                keys.append(key)
            }
        }
        return keys
    }

    private static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: .up
        case KEY_DOWN: .down
        case KEY_LEFT: .left
        case KEY_RIGHT: .right
        case KEY_PPAGE: .pageUp
        case KEY_NPAGE: .pageDown
        case KEY_HOME: .home
        case KEY_END: .end
        case KEY_ENTER: .enter
        case KEY_BACKSPACE: .backspace
        case KEY_BTAB: .backTab
        case KEY_RESIZE: .resize
        default: nil
        }
    }

    private static func characterKey(_ code: UInt32) -> Key? {
        switch code {
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 9: return .tab
        case 0..<32: return nil
        default:
            return Unicode.Scalar(code).map { .character(Character($0)) }
        }
    }
}
