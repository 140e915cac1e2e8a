/// Every command a key can run. Tests press keys by these names, through `BindingTable`.
public enum CommandID: String, Sendable, CaseIterable {
    case moveUp, moveDown, pageUp, pageDown, top, bottom
    case filterCycle, filterAll, filterFailed, filterDedupe, filterConsent
    case search, clearSearch
    case inspect, resend
    case togglePause, cycleTheme, help, quit
    case nextTab, previousTab, closeView
}
