/// A named use of colour on screen. Themes map roles to colours and attributes; the renderer
/// only ever names roles, so a theme can change every colour without touching the layout.
public enum ThemeRole: String, Sendable, CaseIterable {
    /// Ordinary text.
    case text
    /// Secondary text: timestamps, non-conversions, hints.
    case dim
    /// The top line and the footer.
    case header
    /// Pane titles.
    case title
    /// The selected flow line.
    case selected
    /// Delivered: sent records, healthy destinations.
    case ok
    case dedupe
    case consentDrop
    /// A failed attempt or an expired event.
    case failed
    case deadLetter
    /// Notices, disconnected state, confirmations, re-sent records.
    case warning
}
