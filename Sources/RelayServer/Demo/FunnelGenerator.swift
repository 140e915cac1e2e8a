import RelayCore

/// Plays a Messenger funnel as Meta would deliver it: people arrive from an ad or an m.me
/// link, chat, take the lead magnet, book a call, sometimes buy.
///
/// Invented ids only: pages 1048576000000xx, PSIDs 7310000xxxxxxxxx. Seeded, so a demo run can
/// be repeated exactly.
struct FunnelGenerator {
    /// One messaging item, ready to be wrapped in an entry.
    struct Step {
        var pageID: String
        var pageScopedUserID: String
        /// The messaging object (`sender`, `recipient`, `timestamp`, and the item itself).
        var item: JSONValue
    }

    static let pages = ["104857600000001", "104857600000002"]
    static let ads = ["23850000000000042", "23850000000000043", "23850000000000044"]

    private var random: SeededRandom
    /// One digit that keeps the people of different generators apart.
    private let stream: Int
    private var nextUser = 0
    private var nextMid = 0

    /// - Parameters:
    ///   - seed: the same seed and stream give the same funnel.
    ///   - stream: 0…9; each concurrent sender has its own.
    init(seed: UInt64, stream: Int) {
        random = SeededRandom(seed: seed &* 0x1_0000 &+ UInt64(stream))
        self.stream = stream % 10
    }

    /// The whole funnel of the next person, in the order they would act.
    mutating func nextPerson(startingAtMillis start: Int64) -> [Step] {
        nextUser += 1
        let psid = "731\(stream)" + zeroPadded(nextUser, width: 12)
        let page = FunnelGenerator.pages[random.below(FunnelGenerator.pages.count)]
        var time = start
        var steps: [Step] = []

        func add(_ body: [String: JSONValue], fromPage: Bool = false) {
            time += Int64(200 + random.below(800))
            let sender: JSONValue = .object(["id": .string(fromPage ? page : psid)])
            let recipient: JSONValue = .object(["id": .string(fromPage ? psid : page)])
            var item = body
            item["sender"] = sender
            item["recipient"] = recipient
            item["timestamp"] = .integer(time)
            steps.append(Step(pageID: page, pageScopedUserID: psid, item: .object(item)))
        }

        // Arrival: most people come from a click-to-Messenger ad, the rest from the newsletter.
        if random.chance(0.75) {
            let ad = FunnelGenerator.ads[random.below(FunnelGenerator.ads.count)]
            add([
                "postback": .object([
                    "mid": .string(mid()), "title": .string("Get Started"),
                    "payload": .string("GET_STARTED"),
                    "referral": .object([
                        "ref": .string("spring_promo"), "source": .string("ADS"),
                        "type": .string("OPEN_THREAD"), "ad_id": .string(ad),
                        "ads_context_data": .object(["ad_title": .string("Book a free consult")]),
                    ]),
                ])
            ])
        } else {
            add([
                "referral": .object([
                    "ref": .string("newsletter_dec"), "source": .string("SHORTLINK"),
                    "type": .string("OPEN_THREAD"),
                ])
            ])
        }

        add([
            "message": .object(["mid": .string(mid()), "text": .string("hi, is the consult free?")])
        ])
        add(
            [
                "message": .object([
                    "mid": .string(mid()), "is_echo": .bool(true),
                    "text": .string("It is! Want our guide first?"),
                ])
            ], fromPage: true)
        guard random.chance(0.85) else { return steps }

        add([
            "message": .object([
                "mid": .string(mid()), "text": .string("Yes, send me the guide"),
                "quick_reply": .object(["payload": .string("LEAD_GUIDE_YES")]),
            ])
        ])
        add(["read": .object(["watermark": .integer(time)])])
        guard random.chance(0.7) else { return steps }

        add([
            "postback": .object([
                "mid": .string(mid()), "title": .string("Book a call"),
                "payload": .string("BOOK_CALL"),
            ])
        ])
        if random.chance(0.3) {
            add([
                "message": .object([
                    "mid": .string(mid()), "text": .string("can you call me back?"),
                ])
            ])
        }
        if random.chance(0.2) {
            add([
                "optin": .object([
                    "type": .string("notification_messages"),
                    "payload": .string("CONSENT_MARKETING"),
                ])
            ])
        }
        if random.chance(0.5) {
            let cents = 4_900 + random.below(20) * 1_000
            let value = "\(cents / 100).\(zeroPadded(cents % 100, width: 2))"
            add([
                "postback": .object([
                    "mid": .string(mid()), "title": .string("Pay now"),
                    "payload": .string("PURCHASE|value=\(value)|currency=USD"),
                ])
            ])
        }
        return steps
    }

    /// A webhook body holding these steps, one entry each (Meta's batched form when several).
    static func body(_ steps: [Step], entryTimeMillis: Int64) -> [UInt8] {
        let entries: [JSONValue] = steps.map { step in
            .object([
                "id": .string(step.pageID), "time": .integer(entryTimeMillis),
                "messaging": .array([step.item]),
            ])
        }
        return JSONValue.object(["object": .string("page"), "entry": .array(entries)]).serialized()
    }

    mutating func chance(_ probability: Double) -> Bool { random.chance(probability) }
    mutating func below(_ bound: Int) -> Int { random.below(bound) }

    private mutating func mid() -> String {
        nextMid += 1
        return "m_demo\(stream)-\(nextUser)-\(nextMid)"
    }
}

/// SplitMix64: small, fast, and the same sequence for the same seed on every machine.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A whole number in 0..<bound.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(max(bound, 1)))
    }

    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }
}

/// The number zero-padded to `width` digits.
private func zeroPadded(_ value: Int, width: Int) -> String {
    let digits = "\(value)"
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
