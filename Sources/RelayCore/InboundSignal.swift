/// Where a referral brought the person from, as Messenger reports it.
///
/// The first referral of a thread is remembered per page and page-scoped user and travels with
/// that person's later conversions, because the conversions themselves (a quick reply, a
/// postback) carry no trace of the ad that opened the conversation.
public struct Referral: Sendable, Codable, Equatable {
    /// `ref` of an m.me link or ad, alphanumerics plus `-`, `_`, `=`.
    public var ref: String?
    /// `ADS`, `SHORTLINK`, `CUSTOMER_CHAT_PLUGIN`, …
    public var source: String?
    /// `OPEN_THREAD` in practice.
    public var type: String?
    public var adID: String?
    public var adTitle: String?
    public var postID: String?

    public init(
        ref: String? = nil, source: String? = nil, type: String? = nil, adID: String? = nil,
        adTitle: String? = nil, postID: String? = nil
    ) {
        self.ref = ref
        self.source = source
        self.type = type
        self.adID = adID
        self.adTitle = adTitle
        self.postID = postID
    }

    enum CodingKeys: String, CodingKey {
        case ref, source, type
        case adID = "ad_id"
        case adTitle = "ad_title"
        case postID = "post_id"
    }
}

/// What a messaging item was, before any rule looks at it.
public enum SignalKind: String, Sendable, Codable, CaseIterable {
    /// A message with text or attachments, and no quick reply.
    case message
    /// A message sent by tapping a quick reply.
    case quickReply = "quick_reply"
    case postback
    /// A `messaging_referrals` item: an existing thread re-entered from an m.me link or an ad.
    case referral
    case optin
    /// A message the page itself sent; never a conversion.
    case echo
    case read
    case delivery
    /// A messaging item of a kind the relay does not know; kept, never a conversion.
    case other
    /// A canonical server event (`POST /v1/events`) or a CAPI-compatible one; already a
    /// conversion or a rejection when it reaches the journal, never matched by rules.
    case serverEvent = "server_event"
    /// A CRM echo or lifecycle change (`POST /webhooks/crm`).
    case crmEcho = "crm_echo"

    /// Whether rules ever look at this kind. Echoes, reads and deliveries are the page's own
    /// activity or receipts, not something the person did.
    public var canConvert: Bool {
        switch self {
        case .message, .quickReply, .postback, .referral, .optin: true
        case .echo, .read, .delivery, .other, .serverEvent, .crmEcho: false
        }
    }
}

/// One messaging item from a webhook: what a person did in a thread with a page.
public struct InboundSignal: Sendable, Equatable {
    /// `messenger` today; the outbound `messaging_channel`.
    public var channel: String
    public var pageID: String
    /// The PSID: the person's id as this page sees them.
    public var pageScopedUserID: String
    /// When it happened, epoch milliseconds, as Messenger sends it.
    public var timestampMillis: Int64
    public var kind: SignalKind
    /// The message or postback id; stable across redeliveries, so event ids derive from it.
    public var mid: String?
    /// The message text. Personal data: matched by text rules, never logged.
    public var text: String?
    /// The developer-defined payload of a postback, quick reply or optin.
    public var payload: String?
    public var referral: Referral?
    /// The optin's `type`, such as `notification_messages`.
    public var optinType: String?

    public init(
        channel: String = "messenger", pageID: String, pageScopedUserID: String,
        timestampMillis: Int64, kind: SignalKind, mid: String? = nil, text: String? = nil,
        payload: String? = nil, referral: Referral? = nil, optinType: String? = nil
    ) {
        self.channel = channel
        self.pageID = pageID
        self.pageScopedUserID = pageScopedUserID
        self.timestampMillis = timestampMillis
        self.kind = kind
        self.mid = mid
        self.text = text
        self.payload = payload
        self.referral = referral
        self.optinType = optinType
    }
}
