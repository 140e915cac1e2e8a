/// Draws a `ConsoleState` as a `Screen`: a pure function of the state, the size, the clock and
/// the theme, so that every screen can be checked in a unit test without a terminal.
public struct ConsoleRenderer: Sendable {
    /// Below this the panes cannot show a useful line each; the console says so instead.
    public static let minimumWidth = 80
    public static let minimumHeight = 20

    public var width: Int
    public var height: Int
    /// Seconds since 1970, for the header clock, the retry countdown and notice expiry.
    public var now: Double
    /// The theme in use; the screen carries roles, the theme's name appears in the footer.
    public var theme: Theme
    public var glyphs: Glyphs

    public init(width: Int, height: Int, now: Double, theme: Theme, glyphs: Glyphs = .unicode) {
        self.width = width
        self.height = height
        self.now = now
        self.theme = theme
        self.glyphs = glyphs
    }

    /// The rows the live flow gets at this size, which the state uses as its page size.
    public func flowHeight(for state: ConsoleState) -> Int {
        max(height - fixedRows(for: state), 1)
    }

    /// Renders the screen for `state`.
    public func render(_ state: ConsoleState) -> Screen {
        var screen = Screen(width: width, height: height)
        guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
            drawTooSmall(on: &screen)
            return screen
        }
        drawHeader(state, on: &screen)
        switch state.mode {
        case .help:
            drawHelp(state, on: &screen)
        case .inspect(let view):
            drawInspect(view, state: state, on: &screen)
        case .confirmResend where state.confirmReturnView != nil:
            drawInspect(state.confirmReturnView!, state: state, on: &screen)
        default:
            drawDashboard(state, on: &screen)
        }
        drawStatus(state, on: &screen)
        drawFooter(state, on: &screen)
        return screen
    }

    // MARK: Frame

    private func drawTooSmall(on screen: inout Screen) {
        let lines = [
            "The window is \(width)×\(height);",
            "the console needs at least \(Self.minimumWidth)×\(Self.minimumHeight).",
            "Enlarge it, or press q to quit.",
        ]
        let top = max((height - lines.count) / 2, 0)
        for (offset, line) in lines.enumerated() {
            let column = max((width - line.count) / 2, 0)
            screen.put(line, row: top + offset, column: column, role: .warning)
        }
    }

    private func drawHeader(_ state: ConsoleState, on screen: inout Screen) {
        let separator = " \(glyphs.separator) "
        var parts = ["capi-relay console"]
        if let hello = state.hello {
            parts.append(
                hello.sharedJournal ? "node \(hello.node) (shared journal)" : "node \(hello.node)")
            parts.append("relay \(hello.version)")
        }
        parts.append(connectionText(state))
        screen.fill(row: 0, role: .header)
        screen.put(" " + parts.joined(separator: separator), row: 0, column: 0, role: .header)
        let clock = Self.clock(now) + " UTC "
        screen.put(clock, row: 0, column: width - clock.count, role: .header)
    }

    private func connectionText(_ state: ConsoleState) -> String {
        switch state.connection {
        case .connecting:
            return "connecting to \(state.socketPath)…"
        case .connected:
            return "connected"
        case .disconnected(_, let retryAt):
            let seconds = max(Int((retryAt - now).rounded(.up)), 0)
            return seconds > 0
                ? "disconnected — retrying in \(seconds) s" : "disconnected — retrying now"
        }
    }

    private func drawStatus(_ state: ConsoleState, on screen: inout Screen) {
        let row = height - 2
        switch state.mode {
        case .searching(let text):
            screen.put(
                " Search event_id or user id: \(text)_   (Enter applies, Esc cancels)", row: row,
                column: 0, role: .warning)
        case .confirmResend(let eventID, let alreadyDelivered):
            // The keys come first, so that a narrow window still shows how to answer.
            let question =
                alreadyDelivered
                ? " y re-sends, any other key cancels: Re-send \(eventID)? It was ALREADY"
                    + " DELIVERED; Meta counts it again."
                : " y re-sends, any other key cancels: Re-send \(eventID) to its destinations?"
            screen.fill(row: row, role: .warning)
            screen.put(question, row: row, column: 0, role: .warning)
        default:
            if let notice = state.notice, notice.expiresAt > now {
                screen.put(
                    " " + notice.text, row: row, column: 0,
                    role: notice.isWarning ? .warning : .text)
            } else if case .disconnected(let reason, _) = state.connection {
                screen.put(" Feed unavailable: \(reason)", row: row, column: 0, role: .warning)
            }
        }
    }

    private func drawFooter(_ state: ConsoleState, on screen: inout Screen) {
        let row = height - 1
        let context: Binding.Context = {
            if case .inspect = state.mode { return .inspect }
            if case .confirmResend = state.mode, state.confirmReturnView != nil { return .inspect }
            return .flow
        }()
        var column = 1
        for binding in state.bindings.footer(for: context) {
            let key = binding.keys.first!.label
            column = screen.put(key, row: row, column: column, role: .title)
            column = screen.put(" \(binding.footerHint!)  ", row: row, column: column, role: .dim)
        }
        var right = "theme \(theme.name)"
        if state.bindings.disabled.contains(where: { $0.binding.command == .resend }) {
            right = "read-only \(glyphs.separator) " + right
        }
        right += " "
        if column + right.count <= width {
            screen.put(right, row: row, column: width - right.count, role: .dim)
        }
    }

    /// "12:00:03" for seconds since 1970, in UTC so that it matches the relay's record times.
    static func clock(_ seconds: Double) -> String {
        let day = Int(seconds.rounded(.down)) % 86_400
        let (hours, minutes, secs) = (day / 3600, day / 60 % 60, day % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(hours)):\(two(minutes)):\(two(secs))"
    }

    /// The time-of-day part of an ISO-8601 stamp ("12:00:00.123"), which is what the flow needs;
    /// the date is the same for nearly every line and would only take columns.
    static func timeOfDay(_ iso: String, milliseconds: Bool = true) -> String {
        let characters = Array(iso)
        guard let tIndex = characters.firstIndex(of: "T") else { return iso }
        let length = milliseconds ? 12 : 8
        let time = characters[(tIndex + 1)...].prefix(length)
        return String(time)
    }
}
