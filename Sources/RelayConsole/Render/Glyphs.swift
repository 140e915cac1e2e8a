/// The symbols beside each stage word. Meaning never rides on colour alone, and in a locale
/// that cannot show Unicode the ASCII set keeps the flow readable.
public enum Glyphs: Sendable {
    case unicode, ascii

    func stage(_ stage: ReceivedRecord.Stage?) -> String {
        switch (self, stage) {
        case (.unicode, .received?): "↓"
        case (.unicode, .mapped?): "→"
        case (.unicode, .notConversion?): "·"
        case (.unicode, .dedupeHit?): "≡"
        case (.unicode, .consentDropped?): "⊘"
        case (.unicode, .queued?): "…"
        case (.unicode, .sent?): "✓"
        case (.unicode, .attemptFailed?): "✗"
        case (.unicode, .expired?): "✗"
        case (.unicode, .deadLettered?): "⊗"
        case (.unicode, .resent?): "↻"
        case (.unicode, .bisected?): "÷"
        case (.unicode, .paused?): "‖"
        case (.unicode, .resumed?): "▶"
        case (.unicode, .outage?): "▼"
        case (.unicode, .recovered?): "▲"
        case (.ascii, .received?): "v"
        case (.ascii, .mapped?): ">"
        case (.ascii, .notConversion?): "."
        case (.ascii, .dedupeHit?): "="
        case (.ascii, .consentDropped?): "-"
        case (.ascii, .queued?): "~"
        case (.ascii, .sent?): "+"
        case (.ascii, .attemptFailed?): "x"
        case (.ascii, .expired?): "x"
        case (.ascii, .deadLettered?): "X"
        case (.ascii, .resent?): "@"
        case (.ascii, .bisected?): "/"
        case (.ascii, .paused?): "|"
        case (.ascii, .resumed?): ">"
        case (.ascii, .outage?): "!"
        case (.ascii, .recovered?): "^"
        case (_, nil): "?"
        }
    }

    var healthy: String { self == .unicode ? "✓" : "+" }
    var failing: String { self == .unicode ? "✗" : "x" }
    var paused: String { self == .unicode ? "‖" : "|" }
    var warning: String { "!" }
    var separator: String { self == .unicode ? "│" : "|" }
    var cursor: String { ">" }
}
