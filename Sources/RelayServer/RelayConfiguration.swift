import Foundation
import RelayCore
import RelayJournal

/// The relay's config file: JSON with comments (JSON5), keys in snake_case.
///
/// Every field but `pages` and `rules` has a default, so a small config stays small. Secrets
/// are never in the file: it names where each one comes from (`SecretSource`).
public struct RelayConfiguration: Sendable, Equatable, Codable {
    /// `host:port` for `serve`.
    public var listen: String = "127.0.0.1:8080"
    /// Where the journal lives: a SQLite file (a relative path is beside the config), or a
    /// `postgres://` / `postgresql://` URL of a database several relays share.
    public var journal: String = "capi-relay.sqlite"
    /// This relay's name among relays sharing a PostgreSQL journal: it owns the delivery work
    /// the relay claims and heads its feed and console. Nil: the host name and process id.
    public var node: String?
    /// How long this relay's claim on delivery work lasts in a shared journal, in seconds:
    /// work a relay that died had claimed goes to the others when it runs out.
    public var journalLeaseSeconds: Double = PostgresJournalOptions.defaultLeaseSeconds
    public var http: HTTPLimits = HTTPLimits()
    public var messenger: Messenger = Messenger()
    /// Page → dataset; several pages may share a dataset.
    public var pages: [PageMapping] = []
    public var capi: CAPI = CAPI()
    /// Absent: conversions are not posted to any CRM.
    public var crm: CRM?
    public var dedupe: Dedupe = Dedupe()
    public var feed: Feed = Feed()
    public var consent: Consent = Consent()
    public var ldu: LDU = LDU()
    /// `POST /v1/events` and `POST /v1/event-ids`; absent: both answer 404.
    public var serverEvents: ServerEvents?
    /// `POST /{api_version}/{dataset}/events`; absent: 404.
    public var capiIngest: CAPIIngest?
    /// `POST /webhooks/crm`; absent: 404.
    public var crmEcho: CRMEcho?
    /// `POST /v1/pixel-echo`; absent: 404.
    public var pixelEcho: PixelEcho?
    public var shutdown: Shutdown = Shutdown()
    /// What `GET /readyz` requires; see `RelayConfiguration+Readiness.swift`.
    public var readiness: Readiness = Readiness()
    public var rules: [MappingRule] = []
    /// `live` sends to Meta; `shadow` journals and reports everything and sends nothing to Meta
    /// (the CRM still gets its posts), to compare with the pixel before going live.
    public var mode: String = RelayConfiguration.liveMode
    public var qa: QA = QA()

    public static let liveMode = "live"
    public static let shadowMode = "shadow"

    /// Whether the config asks for shadow mode.
    public var isShadow: Bool { mode == RelayConfiguration.shadowMode }

    /// Settings of the QA commands (`reconcile`, `qa`, `replay`).
    public struct QA: Sendable, Equatable, Codable {
        /// Column names of the CRM export `reconcile` reads.
        public var crmColumns: CRMColumns = CRMColumns()
        /// `reconcile` exits 1 when it finds more mismatches than this.
        public var maxMismatches: Int = 0
        /// Honour `X-Capi-Relay-Test-Event-Code` on signed webhooks, so that `replay
        /// --test-event-code` reaches Meta's Test Events; off, such a webhook is refused.
        public var acceptTestEventCode: Bool = false
        /// Event names `qa` accepts from server events and CAPI ingest besides Meta's standard
        /// ones: the custom events the senders are known to send.
        public var eventNames: [String] = []

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case crmColumns = "crm_columns"
            case maxMismatches = "max_mismatches"
            case acceptTestEventCode = "accept_test_event_code"
            case eventNames = "event_names"
        }
    }

    /// Which columns of a CRM export hold what; names compare without regard to case.
    public struct CRMColumns: Sendable, Equatable, Codable {
        public var eventID = "event_id"
        /// The CRM's own record id, quoted in reports.
        public var recordID = "id"
        /// When the record was created; rows before `--since` are left out. Optional in the
        /// file: without the column every row is compared.
        public var createdAt = "created_at"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case eventID = "event_id"
            case recordID = "record_id"
            case createdAt = "created_at"
        }
    }

    /// Canonical server events from a bot, a web backend or a GTM server container.
    public struct ServerEvents: Sendable, Equatable, Codable {
        /// The bearer token senders present.
        public var token = SecretSource(env: "CAPI_RELAY_EVENTS_TOKEN")
        /// The dataset of events that name neither a dataset nor a mapped page.
        public var dataset: String?

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case token, dataset
        }
    }

    /// Conversions API clients (the official SDKs, GTM server tags) pointed at the relay.
    public struct CAPIIngest: Sendable, Equatable, Codable {
        /// The `access_token` those clients are configured with; never Meta's own token.
        public var token = SecretSource(env: "CAPI_RELAY_INGEST_TOKEN")
        /// The consent state of their events: `granted` (the sender collected it, as when it
        /// sent to Meta directly) or `unknown` (the consent policy removes what needs it).
        public var consent = "granted"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case token, consent
        }
    }

    /// CRM echoes and lifecycle changes.
    public struct CRMEcho: Sendable, Equatable, Codable {
        /// Signs each echo (`X-Capi-Relay-Signature-256`); by default the CRM secret, the same
        /// scheme both ways.
        public var secret = SecretSource(env: "CAPI_RELAY_CRM_SECRET")
        /// Send the CRM record id as the person's `external_id`.
        public var recordIDAsExternalID = true
        /// The dataset of lifecycle conversions whose person the relay does not know.
        public var dataset: String?
        /// Which stage makes which conversion.
        public var stages: [Stage] = []

        public init() {}

        public struct Stage: Sendable, Equatable, Codable {
            public var stage: String
            public var event: String
            /// The currency when the record gives a value without one.
            public var currency: String?

            public init(stage: String, event: String, currency: String? = nil) {
                self.stage = stage
                self.event = event
                self.currency = currency
            }

            enum CodingKeys: String, CodingKey, CaseIterable {
                case stage, event, currency
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case secret
            case recordIDAsExternalID = "record_id_as_external_id"
            case dataset, stages
        }
    }

    /// The landing page's beacon.
    public struct PixelEcho: Sendable, Equatable, Codable {
        /// Origins a browser may post from (`Access-Control-Allow-Origin`); `*` for any.
        public var allowedOrigins: [String] = ["*"]

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case allowedOrigins = "allowed_origins"
        }
    }

    /// How SIGTERM ends the process.
    public struct Shutdown: Sendable, Equatable, Codable {
        /// Seconds the batches in flight get to finish once intake has stopped; what is still
        /// on the wire then is sent again after the restart, with the same event_id.
        public var deadlineSeconds: Double = 10

        enum CodingKeys: String, CodingKey, CaseIterable {
            case deadlineSeconds = "deadline_seconds"
        }
    }

    /// Which signals grant or revoke consent, which fields need it, and what happens without.
    public struct Consent: Sendable, Equatable, Codable {
        public var grant: [MappingRule.Conditions] = []
        public var revoke: [MappingRule.Conditions] = []
        /// CAPI keys sent only with consent; all customer-information keys by default.
        public var requiredFor: [String] = CustomerField.allCases.map(\.rawValue)
        public var withoutConsent: ConsentPolicy.WithoutConsent = .dropFields
        /// Hash an email or phone typed into a chat into the person's profile.
        public var captureFromChat = true
        /// The country whose calling code a national phone number gets.
        public var defaultCountry = "us"
        /// Hash external_id (Meta recommends it) on every path alike; the Pixel must agree.
        public var hashExternalID = true

        enum CodingKeys: String, CodingKey, CaseIterable {
            case grant, revoke
            case requiredFor = "required_for"
            case withoutConsent = "without_consent"
            case captureFromChat = "capture_from_chat"
            case defaultCountry = "default_country"
            case hashExternalID = "hash_external_id"
        }
    }

    /// Limited Data Use: `never`, `always` (with `country` and `state`), or `by_region`.
    public struct LDU: Sendable, Equatable, Codable {
        public var mode = "never"
        /// 1 = USA, 0 = let Meta geolocate.
        public var country = 0
        /// 1000 = California, 0 = let Meta geolocate.
        public var state = 0
        public var regions: [LimitedDataUsePolicy.Region] = []

        enum CodingKeys: String, CodingKey, CaseIterable {
            case mode, country, state, regions
        }

        /// The policy this section describes; nil for an unknown mode (a config error).
        public var policy: LimitedDataUsePolicy? {
            switch mode {
            case "never": .never
            case "always": .always(LimitedDataUse(options: ["LDU"], country: country, state: state))
            case "by_region": .byRegion(regions)
            default: nil
            }
        }
    }

    public init() {}

    /// The feed's Unix socket: the configured path, or `capi-relay.sock` beside a SQLite
    /// journal (for a PostgreSQL journal, `load` puts it beside the config).
    public var feedSocketPath: String {
        if let socket = feed.socket { return socket }
        guard case .sqlite(let path) = journalLocation else { return "capi-relay.sock" }
        let journalURL = URL(fileURLWithPath: path)
        return journalURL.deletingLastPathComponent().appendingPathComponent("capi-relay.sock").path
    }

    public struct Feed: Sendable, Equatable, Codable {
        /// The socket path; nil puts it beside the journal.
        public var socket: String?
        /// Groups whose members may read the feed (the relay's user and root always may).
        public var allowedGroups: [String] = []
        /// Groups whose members may also re-send events.
        public var operatorGroups: [String] = []
        /// Recent records in a new client's snapshot.
        public var history: Int = 200
        /// Lines that may wait for one client before it loses records.
        public var clientQueue: Int = 10_000
        /// Keep message text in the journal (and show it in `inspect`); off by default, when
        /// only its length is kept.
        public var rawMessageText: Bool = false

        enum CodingKeys: String, CodingKey, CaseIterable {
            case socket
            case allowedGroups = "allowed_groups"
            case operatorGroups = "operator_groups"
            case history
            case clientQueue = "client_queue"
            case rawMessageText = "raw_message_text"
        }
    }

    public struct HTTPLimits: Sendable, Equatable, Codable {
        public var maxBodyBytes: Int = 1 << 20
        public var maxHeaderBytes: Int = 16 * 1024
        public var headerTimeoutSeconds: Double = 10
        public var bodyTimeoutSeconds: Double = 30
        public var maxConnections: Int = 1024

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxBodyBytes = "max_body_bytes"
            case maxHeaderBytes = "max_header_bytes"
            case headerTimeoutSeconds = "header_timeout_seconds"
            case bodyTimeoutSeconds = "body_timeout_seconds"
            case maxConnections = "max_connections"
        }
    }

    public struct Messenger: Sendable, Equatable, Codable {
        public var appSecret = SecretSource(env: "CAPI_RELAY_APP_SECRET")
        public var verifyToken = SecretSource(env: "CAPI_RELAY_VERIFY_TOKEN")

        enum CodingKeys: String, CodingKey, CaseIterable {
            case appSecret = "app_secret"
            case verifyToken = "verify_token"
        }
    }

    public struct PageMapping: Sendable, Equatable, Codable {
        public var pageID: String
        public var dataset: String

        public init(pageID: String, dataset: String) {
            self.pageID = pageID
            self.dataset = dataset
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case pageID = "page_id"
            case dataset
        }
    }

    public struct CAPI: Sendable, Equatable, Codable {
        public var graphURL = "https://graph.facebook.com"
        public var apiVersion = "v25.0"
        public var accessToken = SecretSource(env: "CAPI_RELAY_ACCESS_TOKEN")
        /// Sign requests with `appsecret_proof`, from the Messenger app secret.
        public var appsecretProof = true
        public var testEventCode: String?
        public var partnerAgent: String? = "capi-relay"
        public var batchSize = 1000
        /// How often due events go out. Meta asks for events as soon as they happen; sending
        /// every 0.1 s also spreads delivery's work evenly, where a second's worth of batches
        /// at once held up intake (`capi-relay-bench ingest`: p99 at 5,000 webhooks/s offered
        /// 156 to 350 ms with 1 s, 44 to 57 ms with 0.1 s).
        public var flushIntervalSeconds = 0.1
        public var timeoutSeconds = 1.5
        public var maxAttempts = 12
        /// Requests in flight at once.
        public var concurrency = 2
        /// Requests per second at most; nil for no limit.
        public var requestsPerSecond: Double?
        /// The first retry wait and the longest one, in seconds.
        public var backoffBaseSeconds = 1.0
        public var backoffMaxSeconds = 300.0

        enum CodingKeys: String, CodingKey, CaseIterable {
            case concurrency
            case requestsPerSecond = "requests_per_second"
            case backoffBaseSeconds = "backoff_base_seconds"
            case backoffMaxSeconds = "backoff_max_seconds"
            case graphURL = "graph_url"
            case apiVersion = "api_version"
            case accessToken = "access_token"
            case appsecretProof = "appsecret_proof"
            case testEventCode = "test_event_code"
            case partnerAgent = "partner_agent"
            case batchSize = "batch_size"
            case flushIntervalSeconds = "flush_interval_seconds"
            case timeoutSeconds = "timeout_seconds"
            case maxAttempts = "max_attempts"
        }
    }

    public struct CRM: Sendable, Equatable, Codable {
        public var url: String
        public var secret = SecretSource(env: "CAPI_RELAY_CRM_SECRET")
        public var timeoutSeconds = 5.0
        public var flushIntervalSeconds = 1.0
        public var maxAttempts = 12
        /// Posts in flight at once.
        public var concurrency = 4
        /// Posts per second at most; nil for no limit.
        public var requestsPerSecond: Double?
        public var backoffBaseSeconds = 1.0
        public var backoffMaxSeconds = 300.0

        public init(url: String) {
            self.url = url
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, secret, concurrency
            case requestsPerSecond = "requests_per_second"
            case backoffBaseSeconds = "backoff_base_seconds"
            case backoffMaxSeconds = "backoff_max_seconds"
            case timeoutSeconds = "timeout_seconds"
            case flushIntervalSeconds = "flush_interval_seconds"
            case maxAttempts = "max_attempts"
        }
    }

    public struct Dedupe: Sendable, Equatable, Codable {
        /// Hours; never below 48, Meta's own dedupe window.
        public var windowHours: Double = 168
        /// The rules in the order they are tried; leave one out to turn it off.
        public var rules: [String] = DedupeRule.allCases.map(\.rawValue)
        /// How far apart two events of one person may be under the identity rule, in hours.
        public var identityWindowHours: Double = 24

        enum CodingKeys: String, CodingKey, CaseIterable {
            case windowHours = "window_hours"
            case rules
            case identityWindowHours = "identity_window_hours"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, journal, node, http, messenger, pages, capi, crm, dedupe, feed, consent,
            ldu, shutdown
        case journalLeaseSeconds = "journal_lease_seconds"
        case serverEvents = "server_events"
        case capiIngest = "capi_ingest"
        case crmEcho = "crm_echo"
        case pixelEcho = "pixel_echo"
        case rules, mode, qa
        case readiness
    }
}

// Decoding with defaults: a key that is absent keeps the default above.
extension RelayConfiguration {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? listen
        journal = try c.decodeIfPresent(String.self, forKey: .journal) ?? journal
        node = try c.decodeIfPresent(String.self, forKey: .node)
        journalLeaseSeconds =
            try c.decodeIfPresent(Double.self, forKey: .journalLeaseSeconds)
            ?? journalLeaseSeconds
        http = try c.decodeIfPresent(HTTPLimits.self, forKey: .http) ?? http
        messenger = try c.decodeIfPresent(Messenger.self, forKey: .messenger) ?? messenger
        pages = try c.decodeIfPresent([PageMapping].self, forKey: .pages) ?? pages
        capi = try c.decodeIfPresent(CAPI.self, forKey: .capi) ?? capi
        crm = try c.decodeIfPresent(CRM.self, forKey: .crm)
        dedupe = try c.decodeIfPresent(Dedupe.self, forKey: .dedupe) ?? dedupe
        feed = try c.decodeIfPresent(Feed.self, forKey: .feed) ?? feed
        consent = try c.decodeIfPresent(Consent.self, forKey: .consent) ?? consent
        ldu = try c.decodeIfPresent(LDU.self, forKey: .ldu) ?? ldu
        serverEvents = try c.decodeIfPresent(ServerEvents.self, forKey: .serverEvents)
        capiIngest = try c.decodeIfPresent(CAPIIngest.self, forKey: .capiIngest)
        crmEcho = try c.decodeIfPresent(CRMEcho.self, forKey: .crmEcho)
        pixelEcho = try c.decodeIfPresent(PixelEcho.self, forKey: .pixelEcho)
        shutdown = try c.decodeIfPresent(Shutdown.self, forKey: .shutdown) ?? shutdown
        readiness = try c.decodeIfPresent(Readiness.self, forKey: .readiness) ?? readiness
        rules = try c.decodeIfPresent([MappingRule].self, forKey: .rules) ?? rules
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? mode
        qa = try c.decodeIfPresent(QA.self, forKey: .qa) ?? qa
    }
}

extension RelayConfiguration.QA {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        crmColumns =
            try c.decodeIfPresent(RelayConfiguration.CRMColumns.self, forKey: .crmColumns)
            ?? crmColumns
        maxMismatches = try c.decodeIfPresent(Int.self, forKey: .maxMismatches) ?? maxMismatches
        acceptTestEventCode =
            try c.decodeIfPresent(Bool.self, forKey: .acceptTestEventCode) ?? acceptTestEventCode
        eventNames = try c.decodeIfPresent([String].self, forKey: .eventNames) ?? eventNames
    }
}

extension RelayConfiguration.CRMColumns {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try c.decodeIfPresent(String.self, forKey: .eventID) ?? eventID
        recordID = try c.decodeIfPresent(String.self, forKey: .recordID) ?? recordID
        createdAt = try c.decodeIfPresent(String.self, forKey: .createdAt) ?? createdAt
    }
}

extension RelayConfiguration.HTTPLimits {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? maxBodyBytes
        maxHeaderBytes = try c.decodeIfPresent(Int.self, forKey: .maxHeaderBytes) ?? maxHeaderBytes
        headerTimeoutSeconds =
            try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds)
            ?? headerTimeoutSeconds
        bodyTimeoutSeconds =
            try c.decodeIfPresent(Double.self, forKey: .bodyTimeoutSeconds) ?? bodyTimeoutSeconds
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? maxConnections
    }
}

extension RelayConfiguration.Messenger {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        appSecret = try c.decodeIfPresent(SecretSource.self, forKey: .appSecret) ?? appSecret
        verifyToken = try c.decodeIfPresent(SecretSource.self, forKey: .verifyToken) ?? verifyToken
    }
}

extension RelayConfiguration.CAPI {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        graphURL = try c.decodeIfPresent(String.self, forKey: .graphURL) ?? graphURL
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion) ?? apiVersion
        accessToken = try c.decodeIfPresent(SecretSource.self, forKey: .accessToken) ?? accessToken
        appsecretProof = try c.decodeIfPresent(Bool.self, forKey: .appsecretProof) ?? appsecretProof
        testEventCode = try c.decodeIfPresent(String.self, forKey: .testEventCode)
        partnerAgent = try c.decodeIfPresent(String.self, forKey: .partnerAgent) ?? partnerAgent
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        flushIntervalSeconds =
            try c.decodeIfPresent(Double.self, forKey: .flushIntervalSeconds)
            ?? flushIntervalSeconds
        timeoutSeconds =
            try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? timeoutSeconds
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? maxAttempts
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? concurrency
        requestsPerSecond = try c.decodeIfPresent(Double.self, forKey: .requestsPerSecond)
        backoffBaseSeconds =
            try c.decodeIfPresent(Double.self, forKey: .backoffBaseSeconds) ?? backoffBaseSeconds
        backoffMaxSeconds =
            try c.decodeIfPresent(Double.self, forKey: .backoffMaxSeconds) ?? backoffMaxSeconds
    }
}

extension RelayConfiguration.Shutdown {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        deadlineSeconds =
            try c.decodeIfPresent(Double.self, forKey: .deadlineSeconds) ?? deadlineSeconds
    }
}

extension RelayConfiguration.CRM {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        url = try c.decode(String.self, forKey: .url)
        secret = try c.decodeIfPresent(SecretSource.self, forKey: .secret) ?? secret
        timeoutSeconds =
            try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? timeoutSeconds
        flushIntervalSeconds =
            try c.decodeIfPresent(Double.self, forKey: .flushIntervalSeconds)
            ?? flushIntervalSeconds
        maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? maxAttempts
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? concurrency
        requestsPerSecond = try c.decodeIfPresent(Double.self, forKey: .requestsPerSecond)
        backoffBaseSeconds =
            try c.decodeIfPresent(Double.self, forKey: .backoffBaseSeconds) ?? backoffBaseSeconds
        backoffMaxSeconds =
            try c.decodeIfPresent(Double.self, forKey: .backoffMaxSeconds) ?? backoffMaxSeconds
    }
}

extension RelayConfiguration.Dedupe {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        windowHours = try c.decodeIfPresent(Double.self, forKey: .windowHours) ?? windowHours
        rules = try c.decodeIfPresent([String].self, forKey: .rules) ?? rules
        identityWindowHours =
            try c.decodeIfPresent(Double.self, forKey: .identityWindowHours)
            ?? identityWindowHours
    }

    /// The rules as the journal takes them; unknown names are config errors, left out here.
    public var dedupeRules: [DedupeRule] { rules.compactMap(DedupeRule.init(rawValue:)) }
}

extension RelayConfiguration.ServerEvents {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        token = try c.decodeIfPresent(SecretSource.self, forKey: .token) ?? token
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset)
    }
}

extension RelayConfiguration.CAPIIngest {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        token = try c.decodeIfPresent(SecretSource.self, forKey: .token) ?? token
        consent = try c.decodeIfPresent(String.self, forKey: .consent) ?? consent
    }
}

extension RelayConfiguration.CRMEcho {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        secret = try c.decodeIfPresent(SecretSource.self, forKey: .secret) ?? secret
        recordIDAsExternalID =
            try c.decodeIfPresent(Bool.self, forKey: .recordIDAsExternalID) ?? recordIDAsExternalID
        dataset = try c.decodeIfPresent(String.self, forKey: .dataset)
        stages = try c.decodeIfPresent([Stage].self, forKey: .stages) ?? stages
    }
}

extension RelayConfiguration.PixelEcho {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowedOrigins =
            try c.decodeIfPresent([String].self, forKey: .allowedOrigins) ?? allowedOrigins
    }
}

extension RelayConfiguration.Feed {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        socket = try c.decodeIfPresent(String.self, forKey: .socket)
        allowedGroups =
            try c.decodeIfPresent([String].self, forKey: .allowedGroups) ?? allowedGroups
        operatorGroups =
            try c.decodeIfPresent([String].self, forKey: .operatorGroups) ?? operatorGroups
        history = try c.decodeIfPresent(Int.self, forKey: .history) ?? history
        clientQueue = try c.decodeIfPresent(Int.self, forKey: .clientQueue) ?? clientQueue
        rawMessageText = try c.decodeIfPresent(Bool.self, forKey: .rawMessageText) ?? rawMessageText
    }
}

extension RelayConfiguration.Consent {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        grant = try c.decodeIfPresent([MappingRule.Conditions].self, forKey: .grant) ?? grant
        revoke = try c.decodeIfPresent([MappingRule.Conditions].self, forKey: .revoke) ?? revoke
        requiredFor = try c.decodeIfPresent([String].self, forKey: .requiredFor) ?? requiredFor
        withoutConsent =
            try c.decodeIfPresent(ConsentPolicy.WithoutConsent.self, forKey: .withoutConsent)
            ?? withoutConsent
        captureFromChat =
            try c.decodeIfPresent(Bool.self, forKey: .captureFromChat) ?? captureFromChat
        defaultCountry =
            try c.decodeIfPresent(String.self, forKey: .defaultCountry) ?? defaultCountry
        hashExternalID =
            try c.decodeIfPresent(Bool.self, forKey: .hashExternalID) ?? hashExternalID
    }
}

extension RelayConfiguration.LDU {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? mode
        country = try c.decodeIfPresent(Int.self, forKey: .country) ?? country
        state = try c.decodeIfPresent(Int.self, forKey: .state) ?? state
        regions =
            try c.decodeIfPresent([LimitedDataUsePolicy.Region].self, forKey: .regions) ?? regions
    }
}
