import RelayCore

/// One accepted inbound delivery with what the mapper made of each item.
public struct InboundDelivery: Sendable {
    /// `messenger` today; `crm_echo`, `server` and others later.
    public var source: String
    /// Epoch milliseconds.
    public var receivedAtMillis: Int64
    /// The raw body, kept so that an operator can inspect what arrived.
    public var body: [UInt8]
    public var items: [InboundItem]

    public init(source: String, receivedAtMillis: Int64, body: [UInt8], items: [InboundItem]) {
        self.source = source
        self.receivedAtMillis = receivedAtMillis
        self.body = body
        self.items = items
    }
}

/// One signal and the mapper's outcome for it.
public struct InboundItem: Sendable {
    public var signal: InboundSignal
    public var outcome: MappingOutcome
    /// What the signal changes in the person's profile: consent, hashed identifiers.
    public var profileUpdate: ProfileUpdate
    /// The source's own key for what happened, for the `source_key` dedupe rule: `mid:` and the
    /// Messenger message id, or `crm:` with the CRM record and stage.
    public var sourceKey: String?
    /// True when the relay minted the event id itself (the source gave neither an event id nor
    /// a source key): only then may the `identity` rule match it to an earlier conversion.
    public var dedupeByIdentity: Bool
    /// An earlier conversion this item refers to by event id (a CRM echo). The item takes its
    /// person, and for a lifecycle conversion its dataset, from it; an echo without a
    /// conversion of its own is a dedupe hit on it.
    public var refersTo: ConversionReference?

    public init(
        signal: InboundSignal, outcome: MappingOutcome, profileUpdate: ProfileUpdate = .init(),
        sourceKey: String? = nil, dedupeByIdentity: Bool = false,
        refersTo: ConversionReference? = nil
    ) {
        self.signal = signal
        self.outcome = outcome
        self.profileUpdate = profileUpdate
        self.sourceKey = sourceKey
        self.dedupeByIdentity = dedupeByIdentity
        self.refersTo = refersTo
    }
}

/// An earlier conversion named by its event id (and event name, when the sender knows it).
public struct ConversionReference: Sendable, Equatable {
    public var eventID: String
    public var eventName: String?

    public init(eventID: String, eventName: String? = nil) {
        self.eventID = eventID
        self.eventName = eventName
    }
}

/// The rules that decide a duplicate, tried in the configured order; the first that matches
/// is recorded with the hit.
public enum DedupeRule: String, Sendable, CaseIterable, Codable {
    /// Same dataset, event_name and event_id inside the window.
    case eventID = "event_id"
    /// Same dataset, event_name and source key (Messenger mid, CRM record and stage).
    case sourceKey = "source_key"
    /// For events whose id the relay minted: same dataset and event_name, a shared identifier
    /// (page-scoped user, hashed email or phone, external_id), and event times within the
    /// identity window.
    case identity
}

/// What the journal decided for one item, once committed.
public enum ItemResult: Sendable, Equatable {
    /// A new conversion, queued for CAPI and the CRM.
    case conversion(conversionID: Int64, eventID: String)
    /// The same (dataset, event_name, event_id) was seen inside the dedupe window.
    case dedupeHit(matchedConversionID: Int64, eventID: String, rule: String)
    case notConversion(reason: String)
}

/// The journal's answer to an append: the delivery's id and one result per item, in order.
public struct AppendReceipt: Sendable, Equatable {
    public var deliveryID: Int64
    public var results: [ItemResult]
    /// Field names removed for lack of consent, by item position (names only, never values).
    public var consentDropped: [Int: [String]] = [:]
    /// For each dedupe hit, by item position, the event name and dataset of the conversion it
    /// matched (an echo names neither itself).
    public var matches: [Int: MatchedConversion] = [:]
    /// For each item that took its person or dataset from the conversion it follows (a CRM
    /// stage, a lifecycle event, an echo), by item position: what it was decided with.
    public var inherited: [Int: InheritedPerson] = [:]
}

/// The person and dataset an item took from the earlier conversion it refers to.
public struct InheritedPerson: Sendable, Equatable {
    public var pageID: String
    public var pageScopedUserID: String
    public var dataset: String

    public init(pageID: String, pageScopedUserID: String, dataset: String) {
        self.pageID = pageID
        self.pageScopedUserID = pageScopedUserID
        self.dataset = dataset
    }
}

/// The conversion a dedupe hit matched, as the feed shows it.
public struct MatchedConversion: Sendable, Equatable {
    public var eventName: String
    public var dataset: String

    public init(eventName: String, dataset: String) {
        self.eventName = eventName
        self.dataset = dataset
    }
}

/// Why the journal could not do what was asked.
public struct JournalError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// The transaction did not commit; nothing of it is stored.
        case commitFailed = "commit_failed"
        case closed
        /// The journal was written by a newer capi-relay, or its schema is not ours.
        case incompatible
        case io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A destination the relay delivers conversions to.
public enum Destination: String, Sendable, CaseIterable, Codable {
    case capi
    case crm
}

/// A conversion waiting for a destination.
public struct PendingConversion: Sendable, Equatable {
    public var conversionID: Int64
    public var conversion: Conversion
    /// Attempts made so far for this destination.
    public var attempts: Int
}

/// How one conversion's state at a destination changes after an attempt.
public enum DeliveryStateChange: Sendable, Equatable {
    case sent
    /// Try again at the given epoch milliseconds.
    case retry(atMillis: Int64, reason: String)
    /// Given up: the event becomes a dead letter with this reason.
    case failed(DeadLetterReason)
    /// Older than Meta accepts; never sent, and a dead letter with the reason `expired`.
    case expired(reason: String)
}

extension DeliveryStateChange {
    /// The reason of the dead letter this change leaves; nil for a change that leaves none.
    var deadLetterReason: DeadLetterReason? {
        switch self {
        case .failed(let reason): reason
        case .expired(let reason):
            DeadLetterReason(code: DeadLetterReason.expiredCode, message: reason)
        case .sent, .retry: nil
        }
    }
}

/// Why an event left a destination's queue undelivered, kept with its dead letter.
public struct DeadLetterReason: Sendable, Equatable {
    /// Short and stable, for `resend --reason` and for metric labels: `graph_100`,
    /// `http_404`, `transport`, `attempts_exhausted`, `expired`.
    public var code: String
    public var graphCode: Int?
    public var graphSubcode: Int?
    public var httpStatus: Int?
    /// Meta's message (or the CRM's, or the transport's), never a token or personal data.
    public var message: String

    public init(
        code: String, graphCode: Int? = nil, graphSubcode: Int? = nil, httpStatus: Int? = nil,
        message: String
    ) {
        self.code = code
        self.graphCode = graphCode
        self.graphSubcode = graphSubcode
        self.httpStatus = httpStatus
        self.message = message
    }

    public static let expiredCode = "expired"
    public static let attemptsExhaustedCode = "attempts_exhausted"
    /// No HTTP answer at all: connection refused, timeout.
    public static let transportCode = "transport"

    /// The codes that are words; every other code is `graph_` or `http_` and a number.
    public static let wordCodes = [expiredCode, attemptsExhaustedCode, transportCode]

    /// Whether some dead letter could have `code` as its reason: one of `wordCodes`, or
    /// `graph_` or `http_` followed by digits (`graph_100`, `http_404`).
    public static func isPossibleCode(_ code: String) -> Bool {
        if wordCodes.contains(code) { return true }
        for prefix in ["graph_", "http_"] where code.hasPrefix(prefix) {
            let number = code.dropFirst(prefix.count)
            return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
        }
        return false
    }

    /// One line: the code, Graph's numbers when there are some, and the message.
    public var summary: String {
        var parts = [code]
        if let graphCode { parts.append("code=\(graphCode)") }
        if let graphSubcode { parts.append("subcode=\(graphSubcode)") }
        if let httpStatus, graphCode == nil { parts.append("status=\(httpStatus)") }
        parts.append(message)
        return parts.joined(separator: " ")
    }
}

/// An event a destination gave up on, with everything needed to judge and re-send it: the
/// event as it was, the reason, and (through `inspect`) every attempt.
public struct DeadLetter: Sendable, Equatable {
    public var id: Int64
    public var conversionID: Int64
    public var destination: Destination
    public var reason: DeadLetterReason
    /// Attempts made at that destination before it gave up.
    public var attempts: Int
    public var conversion: Conversion
    /// Epoch milliseconds.
    public var createdAtMillis: Int64
    /// When it was queued again; nil while it is open.
    public var resentAtMillis: Int64?
}

/// Which dead letters a listing or a resend takes; every condition given must hold.
public struct DeadLetterFilter: Sendable, Equatable {
    /// Dead-lettered at or after this epoch millisecond.
    public var sinceMillis: Int64?
    public var eventID: String?
    /// A reason code (`expired`, `graph_100`, `http_404`…) or a bare Graph code (`100`).
    public var reason: String?
    public var destination: Destination?
    /// Also those already re-sent.
    public var includeResent = false

    /// Whether `reason` could select any dead letter: a code one could have, or a bare Graph
    /// code. Checked before filtering, since a mistyped reason would select nothing and read
    /// as "no dead letters" rather than as the mistake it is.
    public static func isValidReason(_ reason: String) -> Bool {
        DeadLetterReason.isPossibleCode(reason)
            || (!reason.isEmpty && reason.allSatisfy { $0.isASCII && $0.isNumber })
    }

    public init(
        sinceMillis: Int64? = nil, eventID: String? = nil, reason: String? = nil,
        destination: Destination? = nil, includeResent: Bool = false
    ) {
        self.sinceMillis = sinceMillis
        self.eventID = eventID
        self.reason = reason
        self.destination = destination
        self.includeResent = includeResent
    }
}

/// One request to a destination and what came back.
public struct DeliveryAttempt: Sendable, Equatable {
    public var destination: Destination
    public var dataset: String?
    public var startedAtMillis: Int64
    public var finishedAtMillis: Int64
    /// Nil when no HTTP response arrived (connection refused, timeout).
    public var httpStatus: Int?
    /// The response body, or the transport error; truncated to 4 KiB, never a secret.
    public var response: String
    /// `sent`, `retry` or `failed`, for the whole request.
    public var outcome: String
    public var conversionIDs: [Int64]
    /// The request body as sent (never a credential: those travel in the URL and headers);
    /// nil for attempts journaled before bodies were kept.
    public var request: String?

    public init(
        destination: Destination, dataset: String?, startedAtMillis: Int64,
        finishedAtMillis: Int64, httpStatus: Int?, response: String, outcome: String,
        conversionIDs: [Int64], request: String? = nil
    ) {
        self.request = request
        self.destination = destination
        self.dataset = dataset
        self.startedAtMillis = startedAtMillis
        self.finishedAtMillis = finishedAtMillis
        self.httpStatus = httpStatus
        self.response = String(response.prefix(4096))
        self.outcome = outcome
        self.conversionIDs = conversionIDs
    }
}

/// One conversion with its inbound delivery and every attempt, for `inspect`.
public struct Inspection: Sendable {
    public var conversionID: Int64
    public var conversion: Conversion
    /// `pending`, `sent`, `expired`, `failed` (and `disabled` for a CRM that is not set up).
    public var capiState: String
    public var capiReason: String?
    public var crmState: String
    public var crmReason: String?
    /// The raw body of the delivery that made the conversion, and the signal's message id.
    public var inboundBody: [UInt8]
    public var inboundSource: String
    public var mid: String?
    public var attempts: [DeliveryAttempt]
}

/// What `requeue` did.
public enum RequeueResult: Sendable, Equatable {
    case requeued(conversionID: Int64)
    /// Delivered already; queue it again only when the operator confirms.
    case alreadyDelivered(conversionID: Int64)
    /// Still waiting for (or in the middle of) delivery: nothing to re-send yet.
    case alreadyQueued(conversionID: Int64)
    case unknownEvent
}

/// Totals since the journal was created, for the demo's summary and the tests.
public struct JournalCounters: Sendable, Equatable, Codable {
    /// Accepted inbound deliveries (HTTP requests).
    public var deliveries: Int = 0
    /// Signals received: messaging items across all deliveries.
    public var received: Int = 0
    /// Signals that mapped to a conversion, dedupe hits included.
    public var conversions: Int = 0
    public var notConversions: Int = 0
    public var dedupeHits: Int = 0
    /// Conversions that lost fields, or were not sent, for lack of consent.
    public var consentDrops: Int = 0
    public var capiPending: Int = 0
    public var capiSent: Int = 0
    public var capiExpired: Int = 0
    public var capiFailed: Int = 0
    /// Journaled in shadow mode: never sent to Meta.
    public var capiShadow: Int = 0
    public var crmPending: Int = 0
    public var crmSent: Int = 0
    public var crmFailed: Int = 0
    /// Distinct (event_id, event_name) pairs the landing-page pixel reported.
    public var pixelEchoes: Int = 0
    /// Conversions whose event_id and event_name the pixel also reported: with `capiSent`
    /// and the other conversions, the measured pixel coverage.
    public var pixelMatched: Int = 0
    /// Conversions made (dedupe hits and rejections excluded).
    public var conversionsMade: Int = 0

    public init() {}

    /// The share of conversions the pixel also saw, 0…1; nil before the first conversion.
    public var pixelCoverage: Double? {
        conversionsMade == 0 ? nil : Double(pixelMatched) / Double(conversionsMade)
    }
}

/// The relay's durable store: what arrived, what it became, and what was sent.
///
/// Every decision that must hold across restarts, and across relays sharing one database, is
/// made inside the journal's transactions: dedupe, a thread's first referral, delivery state.
public protocol Journal: JournalHealth {
    /// Stores a delivery and its conversions in one transaction, deciding dedupe inside it.
    /// `completion` runs once the transaction has committed (or failed), on the journal's
    /// completion thread, in commit order; it must not block, or it delays every completion
    /// after it.
    func append(
        _ delivery: InboundDelivery,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalError>) -> Void)

    /// Conversions due at a destination at `nowMillis`, oldest first.
    func due(for destination: Destination, nowMillis: Int64, limit: Int) throws(JournalError)
        -> [PendingConversion]

    /// The earliest time anything pending becomes due at a destination, or nil when nothing is
    /// pending.
    func nextDueMillis(for destination: Destination) throws(JournalError) -> Int64?

    /// Records an attempt (if one was made) and the state changes it caused, durably.
    func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)],
        destination: Destination) throws(JournalError)

    func counters() throws(JournalError) -> JournalCounters

    /// Per event name, how many conversions there are and how many carry each match key
    /// (``MatchKey/all``), over the journal's life.
    func matchKeyCoverage() throws(JournalError) -> [MatchKeyCount]

    /// Pending conversions per dataset at a destination.
    func backlog(for destination: Destination) throws(JournalError) -> [String: Int]

    /// Everything the journal knows about one event id, newest conversion first; empty when
    /// the id is unknown.
    func inspect(eventID: String) throws(JournalError) -> [Inspection]

    /// Queues an event again for CAPI (and for the CRM when its post failed), same event_id.
    /// An event already delivered to CAPI is only queued again with `confirm`.
    func requeue(eventID: String, confirm: Bool, nowMillis: Int64) throws(JournalError)
        -> RequeueResult

    /// Records that the browser pixel fired this event; a repeat of the pair changes nothing.
    /// `completion` runs on the journal's completion thread once committed; it must not block.
    func recordPixelEcho(
        eventID: String, eventName: String, atMillis: Int64,
        completion: @escaping @Sendable (JournalError?) -> Void)

    /// Dead letters matching the filter, oldest first.
    func deadLetters(matching filter: DeadLetterFilter, limit: Int) throws(JournalError)
        -> [DeadLetter]

    /// Queues open dead letters again at their destination (same event_id, attempts from
    /// zero) and marks them re-sent. A dead letter whose event was queued again meanwhile is
    /// skipped. Returns the ids queued.
    func resend(deadLetterIDs: [Int64], nowMillis: Int64) throws(JournalError) -> [Int64]

    /// The state (`pending`, `sent`, `failed`, `expired`) of each conversion at a destination,
    /// for a tool waiting on a resend.
    func states(of conversionIDs: [Int64], at destination: Destination) throws(JournalError)
        -> [Int64: String]

    /// Transactions committed since this journal was opened. Concurrent appends share them,
    /// so under load this grows slower than the number of appends.
    var transactionsCommitted: Int { get }

    /// Stops the writer after the queued work is committed.
    func close()

    /// How long a claim made by `due` lasts, in seconds; nil when claims never lapse.
    var claimLifetimeSeconds: Double? { get }
}

extension Journal {
    /// How long a claim made by ``due(for:nowMillis:limit:)`` lasts, in seconds; nil when
    /// claims never lapse (one relay on a journal of its own).
    public var claimLifetimeSeconds: Double? { nil }

    /// Whether a request of up to `timeoutSeconds`, started `now`, would end within the claim
    /// taken at `claimedAtMillis`. A destination starts no request on a claim it could not
    /// finish within: past its lease, another relay may be sending the same events.
    public func claimHolds(
        since claimedAtMillis: Int64, now nowMillis: Int64, forRequestOf timeoutSeconds: Double
    ) -> Bool {
        guard let lifetime = claimLifetimeSeconds else { return true }
        return Double(nowMillis - claimedAtMillis) / 1000 + timeoutSeconds < lifetime
    }

    /// Records a pixel echo and waits for the commit; for callers that may block (tools,
    /// tests). `qa` compares these with the server's conversions (pixel coverage).
    /// - Parameter seenAtMillis: epoch milliseconds.
    public func recordPixelEcho(
        eventID: String, eventName: String, seenAtMillis: Int64
    ) throws(JournalError) {
        let done = Completion<JournalErrorBox>()
        recordPixelEcho(eventID: eventID, eventName: eventName, atMillis: seenAtMillis) {
            done.finish(JournalErrorBox(error: $0))
        }
        if let error = done.wait().error { throw error }
    }

    /// Appends and waits for the commit; for callers that may block (tests, tools).
    public func appendAndWait(_ delivery: InboundDelivery) throws(JournalError) -> AppendReceipt {
        let done = Completion<Result<AppendReceipt, JournalError>>()
        append(delivery) { done.finish($0) }
        return try done.wait().get()
    }
}

/// Match-key coverage of one event name: conversions, and how many carry each key.
public struct MatchKeyCount: Sendable, Equatable {
    public var eventName: String
    public var conversions: Int
    /// Keys of ``MatchKey/all`` to the number of conversions carrying them; absent means none.
    public var carrying: [String: Int]

    public init(eventName: String, conversions: Int, carrying: [String: Int]) {
        self.eventName = eventName
        self.conversions = conversions
        self.carrying = carrying
    }
}

/// An optional journal error that can cross threads inside a `Completion`.
struct JournalErrorBox: Sendable {
    var error: JournalError?
}
