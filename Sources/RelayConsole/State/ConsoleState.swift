import RelayCore

/// Everything the console shows, as a value: the feed applies messages to it, keys go through
/// `handle(_:now:)`, and the renderer draws it. No I/O happens here, so every behaviour of the
/// console can be tested by feeding lines and pressing keys.
public struct ConsoleState: Sendable, Equatable {
    /// The link to the relay, as the header reports it.
    public enum Connection: Sendable, Equatable {
        case connecting
        case connected
        /// `retryAt` is seconds since 1970, like every time the state is given.
        case disconnected(reason: String, retryAt: Double)
    }

    /// What has the keyboard: the flow, or an overlay that takes keys first.
    public enum Mode: Sendable, Equatable {
        case flow
        case help
        case searching(String)
        case confirmResend(eventID: String, alreadyDelivered: Bool)
        case inspect(InspectView)
    }

    /// A one-line notice under the flow, until `expiresAt` (seconds since 1970).
    public struct Notice: Sendable, Equatable {
        /// What the status line shows, the essential part first so that a narrow window cuts
        /// only the end.
        public var text: String
        /// The whole message when `text` is a shortened form of it, e.g. the relay's reason.
        public var detail: String?
        public var isWarning: Bool
        public var expiresAt: Double

        /// Everything the notice says, as the console log records it.
        public var fullText: String { detail ?? text }
    }

    /// How many flow lines are kept; older ones are dropped (the relay's journal has them all).
    public static let flowCapacity = 2000
    /// How many recent failures the failures pane keeps, independent of the flow's trimming.
    public static let failureCapacity = 200
    /// Seconds a notice stays up.
    static let noticeSeconds = 6.0

    public var bindings: BindingTable
    /// The feed socket, for the header while connecting.
    public var socketPath = ""
    /// The console's log, where every notice is written in full; named on the help screen.
    public var logPath = ""
    public var connection = Connection.connecting
    public var hello: FeedHello?
    public var stats = FeedStats()
    /// Per-second rates by counter name, from the last two stats messages.
    public var rates: [String: Double] = [:]
    public var flow: [FlowEntry] = []
    /// Records that arrived while the flow was paused, appended on resume.
    public var held: [ReceivedRecord] = []
    /// Newest first.
    public var failures: [ReceivedRecord] = []
    public var missedTotal: Int64 = 0
    public var filter = FlowFilter.all
    /// The applied search; empty shows everything the filter admits.
    public var search = ""
    /// The selected flow entry; nil follows the newest line.
    public var selectedID: Int?
    public var isPaused = false
    public var mode = Mode.flow
    public var notice: Notice?
    public var themeNames: [String]
    public var themeIndex = 0
    /// Flow lines on screen, set by the driver from the layout so that paging moves a page.
    public var pageSize = 10

    /// Events seen in a `sent` record to CAPI: re-sending them needs the relay's confirm
    /// flag. A CRM delivery alone does not count, as the relay asks only about CAPI.
    var deliveredEventIDs: Set<String> = []
    var nextEntryID = 0
    var lastSample: (time: Double, counters: [String: Int64])?
    /// The event whose inspect or resend reply is awaited.
    var awaitingInspect: String?
    var awaitingResend: String?
    /// The inspect view a re-send confirmation was opened from, to return to afterwards.
    var confirmReturnView: InspectView?

    public init(bindings: BindingTable, themeNames: [String], themeIndex: Int = 0) {
        precondition(!themeNames.isEmpty, "the console needs at least one theme")
        self.bindings = bindings
        self.themeNames = themeNames
        self.themeIndex = themeIndex
    }

    public var themeName: String { themeNames[themeIndex] }

    public static func == (lhs: ConsoleState, rhs: ConsoleState) -> Bool {
        lhs.connection == rhs.connection && lhs.flow == rhs.flow && lhs.mode == rhs.mode
            && lhs.stats == rhs.stats && lhs.selectedID == rhs.selectedID
            && lhs.notice == rhs.notice && lhs.themeIndex == rhs.themeIndex
            && lhs.isPaused == rhs.isPaused && lhs.filter == rhs.filter
            && lhs.search == rhs.search && lhs.held == rhs.held
    }

    /// The flow entries the filter and search admit, oldest first.
    public var visibleFlow: [FlowEntry] {
        flow.filter { entry in
            guard filter.admits(entry) else { return false }
            guard !search.isEmpty else { return true }
            guard let record = entry.record else { return false }
            return record.matches(search)
        }
    }

    /// The entry the selection is on: the chosen one, or the newest when following.
    public var selectedEntry: FlowEntry? {
        let visible = visibleFlow
        if let selectedID, let entry = visible.first(where: { $0.id == selectedID }) {
            return entry
        }
        return visible.last
    }

    mutating func post(_ text: String, detail: String? = nil, warning: Bool = false, now: Double) {
        notice = Notice(
            text: text, detail: detail, isWarning: warning, expiresAt: now + Self.noticeSeconds)
    }
}

extension ReceivedRecord {
    /// Whether a search for `query` finds this record: any event id it names, the event it
    /// matched as a dedupe hit, or the page-scoped user id. Case-insensitive substring.
    func matches(_ query: String) -> Bool {
        let needle = query.lowercased()
        var haystack = eventIDs
        if let matched = fields["matched_event_id"]?.stringValue { haystack.append(matched) }
        if let user = pageScopedUserID { haystack.append(user) }
        return haystack.contains { $0.lowercased().contains(needle) }
    }
}
