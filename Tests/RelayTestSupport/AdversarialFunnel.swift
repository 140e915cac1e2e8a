import Foundation

/// A chat funnel with known ground truth, delivered the way real systems deliver it: Messenger
/// webhooks redelivered, batched and out of order, the bot backend reporting the same leads as
/// server events, a landing page's pixel echoing some of them, a web form retried without an
/// event id, and a CRM echoing what it received and reporting stage changes, some of it three
/// days late.
///
/// It only builds bodies and the truth; a test posts them (in the order given) and then checks
/// that the relay sent exactly one event per true conversion. Invented people only: page
/// 104857600000001, PSIDs 73120000000000xx, emails person-N@example.com.
///
/// Foundation only, so that any test target (the pipeline's, the commands') can use it.
public struct AdversarialFunnel: Sendable {
    public struct Person: Sendable {
        public var index: Int
        public var pageScopedUserID: String
        /// Raw contact details, as a CRM would hold them; never sent raw by the relay.
        public var email: String
        public var crmRecordID: String
        /// The nonce the bot mints the lead's event id with (`POST /v1/event-ids`).
        public var leadNonce: String
        public var books: Bool
        public var qualifies: Bool
        /// The order value when the deal is won.
        public var wonValue: Double?
        public var pixelFires: Bool
        /// The bot backend reports the lead as a server event too.
        public var reportedByBackend: Bool
        /// A website contact form, posted without an event id and retried.
        public var webContact: Bool
        /// Everything about this person happened three days ago and arrives only now.
        public var late: Bool
    }

    /// A conversion that really happened: the event name and the person's PSID.
    public struct Truth: Hashable, Sendable, CustomStringConvertible {
        public var eventName: String
        public var pageScopedUserID: String

        public init(eventName: String, pageScopedUserID: String) {
            self.eventName = eventName
            self.pageScopedUserID = pageScopedUserID
        }

        public var description: String { "\(eventName)/\(pageScopedUserID)" }
    }

    public static let pageID = "104857600000001"
    public static let contactURL = "https://lp.example/contact?psid="
    public static let threeDays: Int64 = 3 * 86_400

    public let people: [Person]
    private let seed: UInt64

    public init(people count: Int = 100, seed: UInt64 = 7) {
        self.seed = seed
        var random = FunnelRandom(seed: seed)
        people = (0..<count).map { index in
            let qualifies = random.chance(0.5)
            return Person(
                index: index, pageScopedUserID: "7312" + String(format: "%012d", index),
                email: "Person-\(index)@Example.com", crmRecordID: "crm-\(10_000 + index)",
                leadNonce: "funnel-\(seed)-\(index)", books: random.chance(0.6),
                qualifies: qualifies,
                wonValue: qualifies && random.chance(0.4) ? Double(49 + random.below(200)) : nil,
                pixelFires: random.chance(0.4), reportedByBackend: random.chance(0.5),
                webContact: random.chance(0.1), late: index % 20 == 7)
        }
    }

    /// Every conversion that happened, once.
    public var truth: [Truth] {
        people.flatMap { person -> [Truth] in
            var names = ["Lead"]
            if person.books { names.append("Schedule") }
            if person.webContact { names.append("Contact") }
            if person.qualifies { names.append("QualifiedLead") }
            if person.wonValue != nil { names.append("Purchase") }
            return names.map { Truth(eventName: $0, pageScopedUserID: person.pageScopedUserID) }
        }
    }

    // MARK: Phase one: chat, backend, pixel

    /// One thing to post in phase one.
    public enum Delivery: Sendable {
        /// A Messenger webhook body (sign it with the app secret).
        case webhook([UInt8])
        /// A `/v1/events` body.
        case serverEvents([UInt8])
        case pixelEcho(eventID: String, eventName: String)
    }

    /// Webhooks, backend events and pixel echoes, shuffled, batched and partly repeated; the
    /// late people's part comes last.
    /// - Parameter leadEventIDs: PSID → the lead's event id, minted with the person's nonce.
    public func phaseOne(leadEventIDs: [String: String], nowSeconds: Int64) -> [Delivery] {
        var random = FunnelRandom(seed: seed &+ 1)
        var onTime: [Delivery] = []
        var late: [Delivery] = []
        var items: [(late: Bool, item: [String: Any])] = []
        var events: [(late: Bool, event: [String: Any])] = []

        for person in people {
            let base =
                (nowSeconds - (person.late ? Self.threeDays : 600)) * 1000
                + Int64(person.index) * 1000
            let leadID = leadEventIDs[person.pageScopedUserID] ?? ""
            func item(_ offset: Int64, _ body: [String: Any]) {
                var item = body
                item["sender"] = ["id": person.pageScopedUserID]
                item["recipient"] = ["id": Self.pageID]
                item["timestamp"] = base + offset
                items.append((person.late, item))
            }
            let mid = "m_funnel-\(person.index)"
            item(
                0,
                [
                    "postback": [
                        "mid": "\(mid)-start", "title": "Get Started", "payload": "GET_STARTED",
                        "referral": [
                            "ref": "spring_promo", "source": "ADS", "type": "OPEN_THREAD",
                        ],
                    ]
                ])
            item(
                1_000,
                [
                    "message": [
                        "mid": "\(mid)-lead", "text": "yes please",
                        "quick_reply": ["payload": "LEAD_GUIDE_YES|event_id=\(leadID)"],
                    ]
                ])
            item(1_500, ["read": ["watermark": base + 1_200]])
            if person.books {
                item(
                    60_000,
                    [
                        "postback": [
                            "mid": "\(mid)-book", "title": "Book a call", "payload": "BOOK_CALL",
                        ]
                    ])
            }

            if person.reportedByBackend {
                events.append(
                    (
                        person.late,
                        [
                            "event_name": "Lead", "event_time": base / 1000 + 2,
                            "event_id": leadID, "action_source": "business_messaging",
                            "user_data": [
                                "page_id": Self.pageID,
                                "page_scoped_user_id": person.pageScopedUserID,
                            ],
                        ]
                    ))
            }
            if person.webContact {
                // A form backend that knows no event id, retried a minute and a half later with
                // a fresh timestamp: only the identity rule can tell it is the same contact.
                for retry in 0..<2 {
                    events.append(
                        (
                            person.late,
                            [
                                "event_name": "Contact",
                                "event_time": base / 1000 + 120 + Int64(retry) * 90,
                                "action_source": "website",
                                "event_source_url": Self.contactURL + person.pageScopedUserID,
                                "client_user_agent": "Mozilla/5.0 (funnel)",
                                "consent": "granted", "user_data": ["em": person.email],
                            ]
                        ))
                }
            }
            if person.pixelFires {
                let echo = Delivery.pixelEcho(eventID: leadID, eventName: "Lead")
                if person.late { late.append(echo) } else { onTime.append(echo) }
            }
        }

        // Webhooks: shuffled, one to four entries per body, a quarter redelivered (some inside
        // another batch).
        for lateness in [false, true] {
            var pool = items.filter { $0.late == lateness }.map(\.item)
            random.shuffle(&pool)
            var bodies: [[UInt8]] = []
            while !pool.isEmpty {
                let count = min(pool.count, 1 + random.below(4))
                bodies.append(Self.webhook(Array(pool.prefix(count))))
                if random.chance(0.25) { bodies.append(Self.webhook([pool[0]])) }
                pool.removeFirst(count)
            }
            let redelivered = bodies.filter { _ in random.chance(0.25) }
            var posts = (bodies + redelivered).map(Delivery.webhook)

            var backend = events.filter { $0.late == lateness }.map(\.event)
            random.shuffle(&backend)
            while !backend.isEmpty {
                let count = min(backend.count, 1 + random.below(10))
                posts.append(.serverEvents(Self.json(["data": Array(backend.prefix(count))])))
                backend.removeFirst(count)
            }
            random.shuffle(&posts)
            if lateness { late += posts } else { onTime += posts }
        }
        random.shuffle(&onTime)
        return onTime + late
    }

    // MARK: Phase two: the CRM

    /// CRM echo bodies (`POST /webhooks/crm`, each to be signed): an echo of every post the
    /// CRM received, and each stage change, all at least once and some twice, shuffled and
    /// batched; the late people's come last, dated three days back.
    /// - Parameter received: the CRM's posts as it received them (`event_id`, `event_name`,
    ///   `page_scoped_user_id`).
    public func phaseTwo(
        received: [[String: Any]], leadEventIDs: [String: String], nowSeconds: Int64
    )
        -> [[UInt8]]
    {
        var random = FunnelRandom(seed: seed &+ 2)
        let byPSID = Dictionary(uniqueKeysWithValues: people.map { ($0.pageScopedUserID, $0) })
        var records: [(late: Bool, record: [String: Any])] = []

        for post in received {
            guard let psid = post["page_scoped_user_id"] as? String, let person = byPSID[psid]
            else { continue }
            let echo: [String: Any] = [
                "record_id": person.crmRecordID, "event_id": post["event_id"] ?? "",
                "event_name": post["event_name"] ?? "", "email": person.email,
                "consent": "granted",
            ]
            records.append((person.late, echo))
            if random.chance(0.3) { records.append((person.late, echo)) }
        }
        for person in people {
            let when = nowSeconds - (person.late ? Self.threeDays - 3_600 : 60)
            let leadID = leadEventIDs[person.pageScopedUserID] ?? ""
            var changes: [[String: Any]] = []
            if person.qualifies {
                changes.append([
                    "record_id": person.crmRecordID, "event_id": leadID, "stage": "qualified",
                    "email": person.email, "consent": "granted", "updated_at": when,
                ])
            }
            if let value = person.wonValue {
                changes.append([
                    "record_id": person.crmRecordID, "event_id": leadID, "stage": "won",
                    "value": value, "email": person.email, "consent": "granted",
                    "updated_at": when + 60,
                ])
            }
            for change in changes {
                records.append((person.late, change))
                if random.chance(0.5) { records.append((person.late, change)) }
            }
        }

        var bodies: [[UInt8]] = []
        for lateness in [false, true] {
            var pool = records.filter { $0.late == lateness }.map(\.record)
            random.shuffle(&pool)
            while !pool.isEmpty {
                let count = min(pool.count, 1 + random.below(5))
                let batch = Array(pool.prefix(count))
                bodies.append(count == 1 ? Self.json(batch[0]) : Self.json(["records": batch]))
                pool.removeFirst(count)
            }
        }
        return bodies
    }

    // MARK: Helpers

    static func webhook(_ items: [[String: Any]]) -> [UInt8] {
        let entries = items.map { item -> [String: Any] in
            ["id": pageID, "time": item["timestamp"] ?? 0, "messaging": [item]]
        }
        return json(["object": "page", "entry": entries])
    }

    static func json(_ object: Any) -> [UInt8] {
        (try? Array(JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))) ?? []
    }
}

/// SplitMix64, so that the same seed plays the same funnel everywhere.
struct FunnelRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }

    mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for index in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(index, below(index + 1))
        }
    }
}
