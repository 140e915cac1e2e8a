import Foundation
import RelayCore
import RelayDelivery
import RelayFeed
import RelayJournal

/// The relay's side of the feed: hello, snapshot and stats from the journal and the delivery
/// workers, and the `inspect` and `resend` commands.
final class RelayFeedProvider: FeedProvider, @unchecked Sendable {
    /// The configuration in force, read at each use: a reload may bring new rules or CAPI
    /// settings, and the hello and a re-send must show and use those.
    private let liveConfiguration: @Sendable () -> RelayConfiguration
    private var configuration: RelayConfiguration { liveConfiguration() }
    private let journal: any Journal
    private let health: DestinationHealth
    private let hub: FeedHub
    private let operatorGroups: [String]
    private let onResend: @Sendable () -> Void
    private let logger: Logger
    /// Events queued again from the feed since the relay started.
    let resends = ResendCounter()
    /// When this relay started, so that a client can tell a restart (seq starts at 1 again).
    private let startedAtMillis = Int64(Date().timeIntervalSince1970 * 1000)

    init(
        configuration: @escaping @Sendable () -> RelayConfiguration, journal: any Journal,
        health: DestinationHealth, hub: FeedHub, logger: Logger,
        onResend: @escaping @Sendable () -> Void
    ) {
        self.logger = logger
        self.liveConfiguration = configuration
        self.journal = journal
        self.health = health
        self.hub = hub
        self.operatorGroups = configuration().feed.operatorGroups
        self.onResend = onResend
        self.baseline = (try? journal.counters()) ?? JournalCounters()
    }

    /// The journal's totals when this relay started; feed counters count from here.
    private let baseline: JournalCounters

    static let protocolVersion = 1

    func greeting(recent: [FeedRecord]) -> [JSONValue] {
        let hello: JSONValue = .object([
            "type": "hello",
            "protocol": .integer(Int64(Self.protocolVersion)),
            "version": .string(RelayVersion.current),
            // Which relay this is: on a shared journal its records are its own, while the
            // counters and totals are the whole database's.
            "node": .string(configuration.nodeName),
            "journal": journalSummary,
            "started_at": .string(FeedRecord.timestamp(startedAtMillis)),
            "config": configSummary,
        ])
        var snapshot = statsBody
        snapshot["type"] = "snapshot"
        snapshot["records"] = .array(recent.map(\.json))
        return [hello, .object(snapshot)]
    }

    func stats() -> JSONValue {
        var stats = statsBody
        stats["type"] = "stats"
        return .object(stats)
    }

    /// The journal's backend, and whether other relays share it; never its URL, which may
    /// hold a password.
    private var journalSummary: JSONValue {
        switch configuration.journalLocation {
        case .sqlite: .object(["backend": "sqlite", "shared": false])
        case .postgres: .object(["backend": "postgres", "shared": true])
        }
    }

    /// What the config says, without a secret or where secrets live.
    private var configSummary: JSONValue {
        .object([
            "listen": .string(configuration.listen),
            "datasets": .array(
                Set(configuration.pages.map(\.dataset)).sorted().map(JSONValue.string)),
            "pages": .integer(Int64(configuration.pages.count)),
            "rules": .array(configuration.rules.map { .string($0.name) }),
            "crm": .bool(configuration.crm != nil),
            "graph_url": .string(configuration.capi.graphURL),
            "api_version": .string(configuration.capi.apiVersion),
            "test_event_code": .bool(configuration.capi.testEventCode != nil),
        ])
    }

    private var statsBody: [String: JSONValue] {
        let totals = (try? journal.counters()) ?? JournalCounters()
        let backlog = (try? journal.backlog(for: .capi)) ?? [:]
        let crmBacklog = ((try? journal.backlog(for: .crm)) ?? [:]).values.reduce(0, +)
        let matchKeys = Self.describe((try? journal.matchKeyCoverage()) ?? [])
        return [
            // Per event name over the journal's life: conversions, and how many carry each
            // match key (the relay's own estimate of match quality).
            "match_keys": matchKeys,
            "counters": Self.describe(totals, since: baseline),
            "totals": Self.describe(totals, since: JournalCounters()),
            "destinations": .array(
                health.snapshot(
                    datasets: Set(configuration.pages.map(\.dataset)).sorted(),
                    crm: configuration.crm != nil, backlog: backlog, crmBacklog: crmBacklog)),
        ]
    }

    private static func describe(_ coverage: [MatchKeyCount]) -> JSONValue {
        var entries: [JSONValue] = []
        for entry in coverage {
            var carrying: [String: JSONValue] = [:]
            for (key, count) in entry.carrying { carrying[key] = .integer(Int64(count)) }
            let fields: [String: JSONValue] = [
                "event_name": .string(entry.eventName),
                "conversions": .integer(Int64(entry.conversions)),
                "carrying": .object(carrying),
            ]
            entries.append(.object(fields))
        }
        return .array(entries)
    }

    /// Counters since `baseline` (the relay's start, or the journal's creation for `totals`).
    /// Queue depths are levels, not counts, and are never subtracted.
    private static func describe(_ now: JournalCounters, since start: JournalCounters) -> JSONValue
    {
        func count(_ keyPath: KeyPath<JournalCounters, Int>) -> JSONValue {
            .integer(Int64(now[keyPath: keyPath] - start[keyPath: keyPath]))
        }
        let deadLetters = (now.capiFailed + now.crmFailed) - (start.capiFailed + start.crmFailed)
        return .object([
            "received": count(\.received),
            "conversions": count(\.conversions),
            "not_conversions": count(\.notConversions),
            "dedupe_hits": count(\.dedupeHits),
            "consent_drops": count(\.consentDrops),
            "sent": count(\.capiSent),
            "failed": count(\.capiFailed),
            "expired": count(\.capiExpired),
            "dead_letters": .integer(Int64(deadLetters)),
            "pending": .integer(Int64(now.capiPending)),
            "crm_sent": count(\.crmSent),
            "crm_failed": count(\.crmFailed),
            "crm_pending": .integer(Int64(now.crmPending)),
            // A level over the journal's whole life, like the queue depths: the share of
            // conversions whose event_id the landing page's pixel also reported.
            "pixel_coverage": .object([
                "conversions": .integer(Int64(now.conversionsMade)),
                "pixel_matched": .integer(Int64(now.pixelMatched)),
                "pixel_echoes": .integer(Int64(now.pixelEchoes)),
                "share": now.pixelCoverage.map(JSONValue.float) ?? .null,
            ]),
        ])
    }

    // MARK: Commands

    func reply(to command: String, from peer: FeedAccessPolicy.Peer?) -> JSONValue {
        let words = command.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let name = words.first?.lowercased()
        switch name {
        case "inspect" where words.count == 2:
            return inspect(words[1])
        case "inspect":
            return Self.failure("inspect", code: "bad_command", "usage: inspect <event_id>")
        case "resend"
        where words.count == 2 || (words.count == 3 && words[2].lowercased() == "confirm"):
            guard mayResend(peer) else {
                return Self.failure(
                    "resend", code: "not_allowed",
                    "this peer may read the feed but not re-send; the relay's user, root and the"
                        + " feed.operator_groups may")
            }
            return resend(words[1], confirm: words.count == 3, peer: peer)
        case "resend":
            return Self.failure("resend", code: "bad_command", "usage: resend <event_id> [confirm]")
        default:
            return Self.failure(
                words.first ?? "", code: "bad_command",
                "unknown command '\(command.prefix(80))'; use: inspect <event_id>,"
                    + " resend <event_id> [confirm]")
        }
    }

    private func mayResend(_ peer: FeedAccessPolicy.Peer?) -> Bool {
        guard let peer else { return false }
        let decision = FeedAccessPolicy(allowedGroups: operatorGroups).decide(peer)
        return decision.allowed
    }

    private func inspect(_ eventID: String) -> JSONValue {
        let found: [Inspection]
        do {
            found = try journal.inspect(eventID: eventID)
        } catch {
            return Self.failure("inspect", code: "journal_error", "the journal could not be read")
        }
        guard let latest = found.first else {
            return Self.failure(
                "inspect", code: "unknown_event", "no conversion has event_id \(eventID)")
        }
        let conversion = latest.conversion
        // The code the dispatcher sends: the conversion's own (a sender's, or a QA replay's)
        // wins over the config's.
        var outbound = CAPIEventEncoder.batch(
            [conversion],
            testEventCode: conversion.testEventCode ?? configuration.capi.testEventCode,
            partnerAgent: configuration.capi.partnerAgent)
        if case .object(var envelope) = outbound {
            envelope["event"] = envelope["data"]?[0]
            envelope["data"] = nil
            outbound = .object(envelope)
        }
        let result: JSONValue = .object([
            "event_id": .string(eventID),
            "state": .object([
                "capi": .string(latest.capiState),
                "capi_reason": latest.capiReason.map(JSONValue.string) ?? .null,
                "crm": .string(latest.crmState),
                "crm_reason": latest.crmReason.map(JSONValue.string) ?? .null,
            ]),
            "inbound": .object([
                "source": .string(latest.inboundSource),
                "mid": latest.mid.map(JSONValue.string) ?? .null,
                "body": InboundMasking.masked(
                    latest.inboundBody, keepText: configuration.feed.rawMessageText),
            ]),
            "conversion": Self.describe(conversion),
            "outbound": CAPIEventEncoder.event(conversion),
            "outbound_request": outbound,
            "crm": CAPIEventEncoder.crmPayload(conversion),
            "attempts": .array(latest.attempts.map(Self.describe)),
            "conversions_with_this_id": .integer(Int64(found.count)),
        ])
        return .object(["type": "reply", "command": "inspect", "ok": true, "result": result])
    }

    private func resend(
        _ eventID: String, confirm: Bool, peer: FeedAccessPolicy.Peer?
    ) -> JSONValue {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let result: RequeueResult
        do {
            result = try journal.requeue(eventID: eventID, confirm: confirm, nowMillis: now)
        } catch {
            return Self.failure("resend", code: "journal_error", "the journal could not be written")
        }
        switch result {
        case .unknownEvent:
            return Self.failure(
                "resend", code: "unknown_event", "no conversion has event_id \(eventID)")
        case .alreadyDelivered:
            return Self.failure(
                "resend", code: "already_delivered",
                "event \(eventID) was delivered; add confirm to send it again (Meta does not"
                    + " dedupe business-messaging events, so it will count twice)")
        case .alreadyQueued:
            return Self.failure(
                "resend", code: "already_queued",
                "event \(eventID) is still queued for delivery; there is nothing to re-send yet")
        case .requeued:
            hub.publish(.resent, ["event_id": .string(eventID), "confirmed": .bool(confirm)])
            resends.add()
            logger.notice(
                "event re-sent by operator",
                [
                    ("event_id", eventID), ("confirmed", "\(confirm)"),
                    ("peer_uid", peer.map { "\($0.uid)" } ?? "unknown"),
                ])
            onResend()
            return .object([
                "type": "reply", "command": "resend", "ok": true,
                "result": .object(["event_id": .string(eventID), "queued": true]),
            ])
        }
    }

    private static func failure(_ command: String, code: String, _ message: String) -> JSONValue {
        .object([
            "type": "reply", "command": .string(command), "ok": false,
            "error": .object(["code": .string(code), "message": .string(message)]),
        ])
    }

    private static func describe(_ conversion: Conversion) -> JSONValue {
        var object: [String: JSONValue] = [
            "event_id": .string(conversion.eventID),
            "event_id_supplied": .bool(conversion.eventIDSupplied),
            "event_name": .string(conversion.eventName),
            "dataset": .string(conversion.dataset),
            "page_id": .string(conversion.pageID),
            "page_scoped_user_id": .string(conversion.pageScopedUserID),
            "event_time": .integer(conversion.eventTime),
            "channel": .string(conversion.channel),
            "rule": .string(conversion.rule),
            "custom_data": .object(conversion.customData),
        ]
        if let referral = conversion.referral {
            var value: [String: JSONValue] = [:]
            if let ref = referral.ref { value["ref"] = .string(ref) }
            if let source = referral.source { value["source"] = .string(source) }
            if let adID = referral.adID { value["ad_id"] = .string(adID) }
            object["referral"] = .object(value)
        }
        return .object(object)
    }

    private static func describe(_ attempt: DeliveryAttempt) -> JSONValue {
        .object([
            "destination": .string(attempt.destination.rawValue),
            "dataset": attempt.dataset.map(JSONValue.string) ?? .null,
            "started_at": .string(FeedRecord.timestamp(attempt.startedAtMillis)),
            "duration_ms": .integer(attempt.finishedAtMillis - attempt.startedAtMillis),
            "status": attempt.httpStatus.map { .integer(Int64($0)) } ?? .null,
            "outcome": .string(attempt.outcome),
            "response": .string(attempt.response),
        ])
    }
}

/// Counts operator re-sends; thread-safe.
final class ResendCounter: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var value = 0

    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}
