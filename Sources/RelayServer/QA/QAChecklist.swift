import Foundation
import RelayCore
import RelayJournal

/// One line of the QA checklist.
public struct QACheck: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pass, fail
        /// Reported, never failing: coverage figures.
        case info
    }

    /// A stable name for scripts: `event_id`, `hashing`…
    public var id: String
    public var status: Status
    /// What was looked at, and how many of those failed.
    public var checked: Int
    public var failed: Int
    /// One line for a person.
    public var summary: String
    /// A few failing event_ids (or `conversion #N` when there is no event_id).
    public var examples: [String]
}

/// Share of conversions carrying each match key, for one event name.
public struct MatchKeyCoverage: Sendable, Equatable {
    public var eventName: String
    public var conversions: Int
    /// Key → conversions carrying it.
    public var carrying: [String: Int]
}

/// Pixel coverage: how many server conversions the browser pixel also reported.
public struct PixelCoverage: Sendable, Equatable {
    public var eventName: String
    public var conversions: Int
    /// Conversions with a pixel echo of the same event_id and event_name.
    public var seenByPixel: Int
    /// Pixel echoes with no conversion of that event_id and name.
    public var pixelOnly: Int
}

/// The whole checklist for one journal.
public struct QAReport: Sendable, Equatable {
    public var conversions: Int
    public var checks: [QACheck]
    public var pixelCoverage: [PixelCoverage]
    public var matchKeys: [MatchKeyCoverage]
    /// With `--compare-shadow`: the same figures for shadow and for sent conversions.
    public var shadowComparison: ShadowComparison?

    public var passed: Bool { !checks.contains { $0.status == .fail } }
}

/// Shadow against sent, each against the pixel: what flipping the server side on would add.
public struct ShadowComparison: Sendable, Equatable {
    public var shadowPixel: [PixelCoverage]
    public var sentPixel: [PixelCoverage]
    public var shadowMatchKeys: [MatchKeyCoverage]
    public var sentMatchKeys: [MatchKeyCoverage]
}

/// Runs the QA checklist over what the journal holds: the conversions, the request bodies
/// actually sent, and the pixel echoes.
public struct QAChecklist {
    /// The match keys reported, in order.
    public static let matchKeys = MatchKey.all
    /// user_data keys Meta wants hashed (SHA-256, lowercase hex).
    static let hashedKeys: Set<String> = Set(CustomerField.allCases.map(\.rawValue))
    /// How far ahead of the send time an event_time may lie: the sandbox's clock skew.
    static let allowedSkewMillis: Int64 = 60_000
    static let maxAgeMillis: Int64 = 7 * 86_400_000
    static let exampleLimit = 3

    /// Meta's standard event names, which a sender of server events or CAPI requests may use
    /// whatever the rules say.
    public static let standardEventNames: Set<String> = [
        "AddPaymentInfo", "AddToCart", "AddToWishlist", "CompleteRegistration", "Contact",
        "CustomizeProduct", "Donate", "FindLocation", "InitiateCheckout", "Lead", "Purchase",
        "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe", "ViewContent",
    ]
    /// The ingest paths whose sender picks the event name (`Conversion.source`).
    static let senderNamedSources: Set<String> = ["server_event", "capi_ingest"]

    /// The names the config makes: its rules' events and its `crm_echo.stages` events.
    public var eventNames: Set<String>
    /// Also accepted from server events and CAPI ingest: Meta's standard names and
    /// `qa.event_names`. A rule cannot name what a sender chooses, so the rules alone would
    /// fail every such event; accepting any name at all would hide a sender's typo.
    public var senderEventNames: Set<String>
    public var consentRequiredFor: Set<String>

    public init(configuration: RelayConfiguration) {
        eventNames = Set(configuration.rules.map(\.event))
            .union(configuration.crmEcho?.stages.map(\.event) ?? [])
        senderEventNames = Self.standardEventNames.union(configuration.qa.eventNames)
        consentRequiredFor = Set(configuration.consent.requiredFor)
    }

    public init(
        eventNames: Set<String>, senderEventNames: Set<String> = standardEventNames,
        consentRequiredFor: Set<String>
    ) {
        self.eventNames = eventNames
        self.senderEventNames = senderEventNames
        self.consentRequiredFor = consentRequiredFor
    }

    /// Whether a conversion's event name is one the config, or for a sender-named source
    /// Meta's standard list or `qa.event_names`, accounts for.
    func isExpectedEventName(_ stored: StoredConversion) -> Bool {
        if eventNames.contains(stored.eventName) { return true }
        guard let source = stored.conversion?.source, Self.senderNamedSources.contains(source)
        else { return false }
        return senderEventNames.contains(stored.eventName)
    }

    public func run(
        conversions: [StoredConversion], attempts: [StoredAttempt], pixelEchoes: [PixelEcho],
        compareShadow: Bool = false
    ) -> QAReport {
        let sent = SentPayloads(
            attempts,
            eventIDs: Dictionary(
                conversions.map { ($0.id, $0.eventID) }, uniquingKeysWith: { first, _ in first }))
        var checks: [QACheck] = []
        func check(
            _ id: String, _ population: [StoredConversion], describe: (Int, Int) -> String,
            failing: (StoredConversion) -> Bool
        ) {
            let failed = population.filter(failing)
            checks.append(
                QACheck(
                    id: id, status: failed.isEmpty ? .pass : .fail, checked: population.count,
                    failed: failed.count, summary: describe(failed.count, population.count),
                    examples: failed.prefix(Self.exampleLimit).map(Self.label)))
        }

        check(
            "event_id", conversions,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions have an event_id"
                    : "\(failed) of \(all) conversions have no event_id, or one that disagrees"
                        + " with the journal's key"
            },
            failing: { stored in
                guard let conversion = stored.conversion else { return true }
                return stored.eventID.isEmpty || conversion.eventID != stored.eventID
            })

        // Only what went to both, with the bodies kept, can be compared.
        let bothSent = conversions.filter { stored in
            stored.capiState == "sent" && stored.crmState == "sent"
                && sent.capiEventIDs[stored.id] != nil && sent.crmPayloads[stored.id] != nil
        }
        check(
            "crm_event_id", bothSent,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions sent to CAPI and the CRM carry the same"
                        + " event_id in both payloads"
                    : "\(failed) of \(all) conversions sent to CAPI and the CRM do not carry the"
                        + " same event_id in both payloads"
            },
            failing: { stored in
                let capi = sent.capiEventIDs[stored.id] ?? []
                let crm = sent.crmPayloads[stored.id]?.compactMap { $0["event_id"]?.stringValue }
                return !capi.contains(stored.eventID)
                    || crm?.allSatisfy { $0 == stored.eventID } != true
                    || crm?.isEmpty != false
            })

        check(
            "hashing", conversions,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions: every hashed field is SHA-256 hex and no raw"
                        + " email left the relay"
                    : "\(failed) of \(all) conversions carry a hashed field that is not SHA-256"
                        + " hex, or a raw email"
            },
            failing: { stored in
                payloads(of: stored, sent: sent).contains { !Self.isClean($0) }
            })

        check(
            "consent", conversions,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions carry consent-only fields only with consent"
                    : "\(failed) of \(all) conversions carry consent-only fields without consent"
            },
            failing: { stored in
                guard stored.conversion?.consent != .granted else { return false }
                return payloads(of: stored, sent: sent).contains { payload in
                    let keys = Set(payload["user_data"]?.objectValue?.keys.map { $0 } ?? [])
                    return !keys.isDisjoint(with: consentRequiredFor)
                }
            })

        check(
            "event_time", conversions,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions have an event_time inside Meta's 7 days and"
                        + " not in the future when sent"
                    : "\(failed) of \(all) conversions have an event_time older than 7 days or in"
                        + " the future when sent"
            },
            failing: { stored in
                let eventMillis = (stored.conversion?.eventTime ?? stored.eventTime) * 1000
                let reference = sent.firstCAPISendMillis[stored.id] ?? stored.createdAtMillis
                return eventMillis > reference + Self.allowedSkewMillis
                    || eventMillis < reference - Self.maxAgeMillis
            })

        check(
            "event_name", conversions,
            describe: { failed, all in
                // Name the set compared against, so a failure says what to add where.
                let against =
                    "the rules and crm_echo.stages, or for server events and CAPI ingest"
                    + " Meta's standard events and qa.event_names"
                return failed == 0
                    ? "\(all) of \(all) conversions have an event name from \(against)"
                    : "\(failed) of \(all) conversions have an event name outside \(against)"
            },
            failing: { !isExpectedEventName($0) })

        check(
            "consent_state", conversions,
            describe: { failed, all in
                failed == 0
                    ? "\(all) of \(all) conversions carry a consent state"
                    : "\(failed) of \(all) conversions carry no consent state"
            },
            failing: { $0.conversion?.consent == nil })

        let pixel = Self.pixelCoverage(conversions, echoes: pixelEchoes)
        let seen = pixel.reduce(0) { $0 + $1.seenByPixel }
        let pixelOnly = pixel.reduce(0) { $0 + $1.pixelOnly }
        checks.append(
            QACheck(
                id: "pixel_coverage", status: .info, checked: conversions.count, failed: 0,
                summary:
                    "\(seen) of \(conversions.count) conversions (\(Self.percent(seen, conversions.count)))"
                    + " were also seen by the pixel; \(pixelOnly) pixel"
                    + (pixelOnly == 1 ? " echo matches" : " echoes match") + " no conversion",
                examples: []))
        checks.append(
            QACheck(
                id: "match_keys", status: .info, checked: conversions.count, failed: 0,
                summary: "share of conversions carrying each match key, per event name",
                examples: []))

        var report = QAReport(
            conversions: conversions.count, checks: checks, pixelCoverage: pixel,
            matchKeys: Self.matchKeyCoverage(conversions), shadowComparison: nil)
        if compareShadow {
            let shadow = conversions.filter { $0.capiState == "shadow" }
            let delivered = conversions.filter { $0.capiState == "sent" }
            report.shadowComparison = ShadowComparison(
                shadowPixel: Self.pixelCoverage(shadow, echoes: pixelEchoes),
                sentPixel: Self.pixelCoverage(delivered, echoes: pixelEchoes),
                shadowMatchKeys: Self.matchKeyCoverage(shadow),
                sentMatchKeys: Self.matchKeyCoverage(delivered))
        }
        return report
    }

    /// Every payload of one conversion: the CAPI event its stored body encodes to, and the
    /// events and CRM posts actually sent for it.
    private func payloads(of stored: StoredConversion, sent: SentPayloads) -> [JSONValue] {
        var found: [JSONValue] = []
        if let conversion = stored.conversion {
            found.append(CAPIEventEncoder.event(conversion))
        }
        found += sent.capiEvents[stored.id] ?? []
        found += sent.crmPayloads[stored.id] ?? []
        return found
    }

    /// Whether a payload's hashed user_data keys hold SHA-256 hex and no string anywhere in it
    /// has the shape of an email address.
    static func isClean(_ payload: JSONValue) -> Bool {
        for (key, value) in payload["user_data"]?.objectValue ?? [:] where hashedKeys.contains(key)
        {
            let values = value.arrayValue ?? [value]
            guard values.allSatisfy({ $0.stringValue.map(isSHA256Hex) == true }) else {
                return false
            }
        }
        return !containsEmail(payload)
    }

    static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64
            && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func containsEmail(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return looksLikeEmail(text)
        case .array(let values): return values.contains(where: containsEmail)
        case .object(let members): return members.values.contains(where: containsEmail)
        default: return false
        }
    }

    /// Something `@` something-dot-letters, with no spaces: the shape Normalizer accepts.
    static func looksLikeEmail(_ text: String) -> Bool {
        guard let at = text.firstIndex(of: "@") else { return false }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        guard !local.isEmpty, let dot = domain.lastIndex(of: "."), dot != domain.startIndex
        else { return false }
        let tld = domain[domain.index(after: dot)...]
        return tld.count >= 2 && tld.allSatisfy(\.isLetter) && !text.contains(" ")
    }

    static func pixelCoverage(
        _ conversions: [StoredConversion], echoes: [PixelEcho]
    ) -> [PixelCoverage] {
        let echoKeys = Set(echoes.map { "\($0.eventName)\u{1F}\($0.eventID)" })
        let conversionKeys = Set(conversions.map { "\($0.eventName)\u{1F}\($0.eventID)" })
        var byName: [String: PixelCoverage] = [:]
        for stored in conversions {
            var entry =
                byName[stored.eventName]
                ?? PixelCoverage(
                    eventName: stored.eventName, conversions: 0, seenByPixel: 0, pixelOnly: 0)
            entry.conversions += 1
            if echoKeys.contains("\(stored.eventName)\u{1F}\(stored.eventID)") {
                entry.seenByPixel += 1
            }
            byName[stored.eventName] = entry
        }
        for echo in echoes where !conversionKeys.contains("\(echo.eventName)\u{1F}\(echo.eventID)")
        {
            var entry =
                byName[echo.eventName]
                ?? PixelCoverage(
                    eventName: echo.eventName, conversions: 0, seenByPixel: 0, pixelOnly: 0)
            entry.pixelOnly += 1
            byName[echo.eventName] = entry
        }
        return byName.values.sorted { $0.eventName < $1.eventName }
    }

    static func matchKeyCoverage(_ conversions: [StoredConversion]) -> [MatchKeyCoverage] {
        var byName: [String: MatchKeyCoverage] = [:]
        for stored in conversions {
            var entry =
                byName[stored.eventName]
                ?? MatchKeyCoverage(
                    eventName: stored.eventName, conversions: 0,
                    carrying: Dictionary(uniqueKeysWithValues: matchKeys.map { ($0, 0) }))
            entry.conversions += 1
            for key in stored.conversion.map(MatchKey.carried(by:)) ?? [] {
                entry.carrying[key, default: 0] += 1
            }
            byName[stored.eventName] = entry
        }
        return byName.values.sorted { $0.eventName < $1.eventName }
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        guard whole > 0 else { return "—" }
        return "\(Int((Double(part) * 100 / Double(whole)).rounded())) %"
    }

    static func label(_ stored: StoredConversion) -> String {
        stored.eventID.isEmpty ? "conversion #\(stored.id)" : stored.eventID
    }
}

/// What the attempts' request bodies say was sent, by conversion id.
private struct SentPayloads {
    /// The CAPI events of each successful attempt, matched to a conversion by event_id.
    var capiEvents: [Int64: [JSONValue]] = [:]
    /// Every event_id in the successful CAPI requests that carried a conversion.
    var capiEventIDs: [Int64: Set<String>] = [:]
    var crmPayloads: [Int64: [JSONValue]] = [:]
    /// When a conversion was first sent to CAPI successfully, epoch milliseconds.
    var firstCAPISendMillis: [Int64: Int64] = [:]

    /// - Parameter eventIDs: each conversion's event_id, by conversion id.
    init(_ attempts: [StoredAttempt], eventIDs: [Int64: String]) {
        for attempt in attempts where attempt.outcome == "sent" {
            guard let request = attempt.request,
                let body = try? JSONValue(parsing: request)
            else { continue }
            switch attempt.destination {
            case .capi:
                let events = body["data"]?.arrayValue ?? []
                let ids = Set(events.compactMap { $0["event_id"]?.stringValue })
                for conversionID in attempt.conversionIDs {
                    capiEventIDs[conversionID, default: []].formUnion(ids)
                    if firstCAPISendMillis[conversionID] == nil {
                        firstCAPISendMillis[conversionID] = attempt.startedAtMillis
                    }
                }
                // A batch carries several conversions: each event goes to the conversion whose
                // event_id it has. An event whose id is no conversion's of the batch goes to
                // each conversion whose id the batch lacks, as one of them must be its own.
                let batchIDs = Set(attempt.conversionIDs.compactMap { eventIDs[$0] })
                let lacking = attempt.conversionIDs.filter { !ids.contains(eventIDs[$0] ?? "") }
                for event in events {
                    let eventID = event["event_id"]?.stringValue ?? ""
                    let owners =
                        batchIDs.contains(eventID)
                        ? attempt.conversionIDs.filter { eventIDs[$0] == eventID } : lacking
                    for conversionID in owners {
                        capiEvents[conversionID, default: []].append(event)
                    }
                }
            case .crm:
                for conversionID in attempt.conversionIDs {
                    crmPayloads[conversionID, default: []].append(body)
                }
            }
        }
    }
}
