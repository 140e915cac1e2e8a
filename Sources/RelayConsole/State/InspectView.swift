import RelayCore

/// The inspect screen for one event: the relay's answer, the tab shown and the scroll offset.
public struct InspectView: Sendable, Equatable {
    public enum Tab: String, Sendable, CaseIterable {
        case inbound, conversion, outbound, crm, attempts
    }

    public var eventID: String
    /// The reply's `result`; nil while the relay has not answered.
    public var result: JSONValue?
    /// Set when the relay refused (unknown event, not allowed).
    public var error: String?
    public var tab: Tab = .inbound
    /// The first line shown, counted from the top of the tab's JSON.
    public var scroll = 0

    public init(eventID: String) { self.eventID = eventID }

    /// The pretty-printed JSON of the current tab, one element per line.
    public var lines: [String] {
        guard let result else { return [] }
        guard let value = result[tab.rawValue], value != .null else {
            return ["(the relay sent no \(tab.rawValue) for this event)"]
        }
        return value.prettyLines()
    }
}
