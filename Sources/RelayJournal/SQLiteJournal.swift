import Foundation
import Glibc
import RelayCore

/// Settings for a SQLite journal.
public struct SQLiteJournalConfiguration: Sendable {
    /// How long a (dataset, event_name, event_id) stays a duplicate, in seconds. Never below
    /// 48 hours, Meta's own dedupe window for pixel and server events.
    public var dedupeWindowSeconds: Int64
    /// Whether the CRM sink is configured; without it conversions are not queued for the CRM.
    public var crmEnabled: Bool
    /// What a conversion may carry from its person's profile.
    public var consent: ConsentPolicy
    public var limitedDataUse: LimitedDataUsePolicy
    /// Shadow mode: conversions are journaled with CAPI state `shadow`, which no dispatcher
    /// picks up, so nothing reaches Meta and `qa --compare-shadow` can count them.
    public var shadow: Bool
    /// The dedupe rules in the order they are tried; a rule left out never fires.
    public var dedupeRules: [DedupeRule]
    /// How far apart, in seconds of event_time, two events of one identity may be and still be
    /// one conversion under the `identity` rule.
    public var identityWindowSeconds: Int64

    public static let minimumDedupeWindowSeconds: Int64 = 48 * 3600
    public static let defaultDedupeWindowSeconds: Int64 = 7 * 24 * 3600

    public init(
        dedupeWindowSeconds: Int64 = SQLiteJournalConfiguration.defaultDedupeWindowSeconds,
        crmEnabled: Bool = true, consent: ConsentPolicy = ConsentPolicy(),
        limitedDataUse: LimitedDataUsePolicy = .never, shadow: Bool = false,
        dedupeRules: [DedupeRule] = DedupeRule.allCases, identityWindowSeconds: Int64 = 24 * 3600
    ) {
        self.shadow = shadow
        self.dedupeRules = dedupeRules
        self.identityWindowSeconds = identityWindowSeconds
        self.consent = consent
        self.limitedDataUse = limitedDataUse
        self.dedupeWindowSeconds = max(
            dedupeWindowSeconds, SQLiteJournalConfiguration.minimumDedupeWindowSeconds)
        self.crmEnabled = crmEnabled
    }
}

/// The embedded journal: one SQLite file in WAL mode.
///
/// Writes go through one `GroupCommitWriter` thread (SQLite has one writer at a time anyway);
/// reads use a second connection behind a lock, which WAL lets run beside the writer.
/// `synchronous = FULL` makes every commit durable before a webhook is acknowledged.
public final class SQLiteJournal: Journal, @unchecked Sendable {
    public let path: String
    private let configuration: SQLiteJournalConfiguration
    private let writer: GroupCommitWriter
    /// Guarded by `readLock`.
    private let reader: SQLiteDatabase
    private let readLock = NSLock()

    /// Opens or creates the journal and brings its schema up to date.
    public init(path: String, configuration: SQLiteJournalConfiguration = .init())
        throws(JournalError)
    {
        self.path = path
        self.configuration = configuration
        do {
            // The journal holds raw webhook bodies, message text included: readable by the
            // relay's user only. SQLite gives its -wal and -shm files the same mode.
            if !FileManager.default.fileExists(atPath: path) {
                let descriptor = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
                if descriptor >= 0 { Glibc.close(descriptor) }
            }
            let writeConnection = try SQLiteDatabase(path: path)
            try writeConnection.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            try SQLiteJournal.migrate(writeConnection, path: path)
            reader = try SQLiteDatabase(path: path)
            writer = GroupCommitWriter(database: writeConnection)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot open journal \(path): \(error)")
        }
    }

    deinit {
        writer.close()
    }

    public func close() {
        writer.close()
    }

    /// Transactions committed since this journal was opened. Concurrent appends share them,
    /// so under load this grows slower than the number of appends.
    public var transactionsCommitted: Int { writer.transactionsCommitted }

    // MARK: Appending

    public func append(
        _ delivery: InboundDelivery,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalError>) -> Void
    ) {
        let box = ReceiptBox()
        let windowMillis = configuration.dedupeWindowSeconds * 1000
        let crmState = configuration.crmEnabled ? "pending" : "disabled"
        let capiState = configuration.shadow ? "shadow" : "pending"
        let configuration = configuration
        writer.submit(
            { database in
                box.receipt = try SQLiteJournal.insert(
                    delivery, into: database, windowMillis: windowMillis, capiState: capiState,
                    crmState: crmState, configuration: configuration)
            },
            done: { error in
                if let error {
                    let journalError =
                        error as? JournalError
                        ?? JournalError(.commitFailed, "journal append failed: \(error)")
                    completion(.failure(journalError))
                } else if let receipt = box.receipt {
                    completion(.success(receipt))
                } else {
                    completion(.failure(JournalError(.commitFailed, "append produced no receipt")))
                }
            })
    }

    private static func insert(
        _ delivery: InboundDelivery, into database: SQLiteDatabase, windowMillis: Int64,
        capiState: String, crmState: String, configuration: SQLiteJournalConfiguration
    ) throws -> AppendReceipt {
        try database.statement(
            "INSERT INTO deliveries (source, received_at_ms, body) VALUES (?, ?, ?)"
        ).bind(.text(delivery.source), .int(delivery.receivedAtMillis), .blob(delivery.body)).run()
        let deliveryID = database.lastInsertRowID

        var results: [ItemResult] = []
        var consentDropped: [Int: [String]] = [:]
        var matches: [Int: MatchedConversion] = [:]
        for (position, item) in delivery.items.enumerated() {
            // The profile changes first, so that a consent given in this very signal (an optin
            // that is also a conversion) already applies to it.
            // Only a (page, page-scoped user) keys a profile; a website visitor has none.
            if !item.profileUpdate.isEmpty && !item.signal.pageID.isEmpty
                && !item.signal.pageScopedUserID.isEmpty
            {
                try updateProfile(of: item.signal, with: item.profileUpdate, in: database)
            }

            // Remember the first referral of a thread before mapping its effects, so that a
            // conversion in the same item (a Get Started postback from an ad) carries it.
            if let referral = item.signal.referral {
                try rememberReferral(referral, of: item.signal, in: database)
            }

            let (result, conversionID, dropped) = try decide(
                item, in: delivery, into: database, windowMillis: windowMillis,
                capiState: capiState, crmState: crmState, configuration: configuration)
            if let dropped { consentDropped[position] = dropped }

            try insertSignal(
                item.signal, position: position, deliveryID: deliveryID, result: result,
                conversionID: conversionID, into: database)
            if case .dedupeHit(let matched, _, let rule) = result {
                try database.statement(
                    """
                    INSERT INTO dedupe_hits (signal_id, matched_conversion_id, rule, source, at_ms)
                    VALUES (?, ?, ?, ?, ?)
                    """
                ).bind(
                    .int(database.lastInsertRowID), .int(matched), .text(rule),
                    .text(delivery.source), .int(delivery.receivedAtMillis)
                ).run()

                // What the hit matched, for the feed: an echo names no event or dataset.
                let matchedRow = try database.statement(
                    "SELECT event_name, dataset FROM conversions WHERE id = ?")
                try matchedRow.bind(.int(matched))
                if try matchedRow.step() {
                    matches[position] = MatchedConversion(
                        eventName: matchedRow.text(0) ?? "", dataset: matchedRow.text(1) ?? "")
                }
                matchedRow.reset()
            }
            results.append(result)
        }
        return AppendReceipt(
            deliveryID: deliveryID, results: results, consentDropped: consentDropped,
            matches: matches)
    }

    /// What one item becomes: a new conversion, a dedupe hit, or not a conversion (with why).
    /// Returns the result, the conversion it concerns, and field names removed for consent.
    private static func decide(
        _ item: InboundItem, in delivery: InboundDelivery, into database: SQLiteDatabase,
        windowMillis: Int64, capiState: String, crmState: String,
        configuration: SQLiteJournalConfiguration
    ) throws -> (ItemResult, Int64?, [String]?) {
        // An item that names an earlier conversion (a CRM echo) takes its person from it.
        var signal = item.signal
        var referred: (id: Int64, conversion: Conversion)?
        if let reference = item.refersTo {
            referred = try conversion(referencedBy: reference, in: database)
            if let referred, signal.pageScopedUserID.isEmpty {
                signal.pageID = referred.conversion.pageID
                signal.pageScopedUserID = referred.conversion.pageScopedUserID
            }
        }
        let hasPerson = !signal.pageID.isEmpty && !signal.pageScopedUserID.isEmpty
        if hasPerson && !item.profileUpdate.isEmpty && signal != item.signal {
            try updateProfile(of: signal, with: item.profileUpdate, in: database)
        }

        guard case .conversion(var conversion) = item.outcome else {
            if case .notConversion(let reason) = item.outcome {
                // An echo of a conversion the relay made is a dedupe hit on it: the CRM has
                // it already, and Meta must not get it twice.
                if let reference = item.refersTo {
                    guard let referred else {
                        return (
                            .notConversion(
                                reason: "echo of event_id \(reference.eventID), which the journal"
                                    + " does not hold; nothing was sent"), nil, nil
                        )
                    }
                    return (
                        .dedupeHit(
                            matchedConversionID: referred.id,
                            eventID: referred.conversion.eventID, rule: DedupeRule.eventID.rawValue
                        ), referred.id, nil
                    )
                }
                return (.notConversion(reason: reason), nil, nil)
            }
            return (.notConversion(reason: "no outcome"), nil, nil)
        }

        // A lifecycle conversion happens to the person (and in the dataset) of the conversion
        // it follows, when the sender did not say.
        if let referred {
            if conversion.pageScopedUserID.isEmpty {
                conversion.pageID = referred.conversion.pageID
                conversion.pageScopedUserID = referred.conversion.pageScopedUserID
                conversion.channel = referred.conversion.channel
                conversion.actionSource =
                    conversion.pageScopedUserID.isEmpty
                    ? conversion.actionSource : referred.conversion.actionSource
            }
            if conversion.dataset.isEmpty { conversion.dataset = referred.conversion.dataset }
        }
        guard !conversion.dataset.isEmpty else {
            return (
                .notConversion(
                    reason: "no dataset: the event names none, its page maps to none, and no"
                        + " earlier conversion of this person gives one"), nil, nil
            )
        }

        // The person's profile, or for someone the relay cannot key a profile to, what this
        // event alone says.
        let profile =
            hasPerson
            ? try self.profile(of: signal, in: database)
            : ContactProfile().applying(item.profileUpdate)
        if hasPerson { conversion.referral = try firstReferral(of: signal, in: database) }
        let decision = configuration.consent.decide(for: profile)
        conversion.userData = decision.userData.isEmpty ? nil : decision.userData
        conversion.optOut = decision.optOut || conversion.optOut == true ? true : nil
        conversion.consent = profile.consent
        conversion.consentSource = profile.consentSource ?? "none"
        conversion.limitedDataUse = configuration.limitedDataUse.flags(country: nil, state: nil)
        conversion.source = conversion.source ?? delivery.source

        let identities = identityKeys(of: conversion)
        let match = try findMatch(
            for: conversion, sourceKey: item.sourceKey,
            identities: item.dedupeByIdentity ? identities : [], at: delivery.receivedAtMillis,
            windowMillis: windowMillis, configuration: configuration, in: database)
        if decision.dropEvent && match == nil {
            return (
                .notConversion(
                    reason: "consent: not granted, and the policy drops the whole event"),
                nil, decision.droppedFields
            )
        }
        if let match {
            return (
                .dedupeHit(
                    matchedConversionID: match.conversionID, eventID: match.eventID,
                    rule: match.rule.rawValue), match.conversionID, nil
            )
        }

        // A CRM does not need to hear of a conversion it reported itself, and a test event
        // (one with a test_event_code, for Meta's Test Events) must not become a CRM record.
        let id = try insertConversion(
            conversion, at: delivery.receivedAtMillis, capiState: capiState,
            crmState: delivery.source == "crm_echo" || conversion.testEventCode != nil
                ? "disabled" : crmState,
            consentDropped: decision.droppedFields, into: database)
        try insertKeys(
            of: conversion, id: id, sourceKey: item.sourceKey, identities: identities,
            at: delivery.receivedAtMillis, into: database)
        return (
            .conversion(conversionID: id, eventID: conversion.eventID), id,
            decision.droppedFields.isEmpty ? nil : decision.droppedFields
        )
    }

    /// The identifiers the `identity` rule compares: the page-scoped user, and the hashed
    /// email, phone and external_id the conversion carries (after consent).
    static func identityKeys(of conversion: Conversion) -> [String] {
        var keys: [String] = []
        if !conversion.pageID.isEmpty && !conversion.pageScopedUserID.isEmpty {
            keys.append("psid:\(conversion.pageID):\(conversion.pageScopedUserID)")
        }
        for key in ["em", "ph", "external_id"] {
            for value in conversion.userData?[key] ?? [] { keys.append("\(key):\(value)") }
        }
        return keys
    }

    /// The earlier conversion this one repeats, by the first configured rule that matches.
    private static func findMatch(
        for conversion: Conversion, sourceKey: String?, identities: [String], at millis: Int64,
        windowMillis: Int64, configuration: SQLiteJournalConfiguration,
        in database: SQLiteDatabase
    ) throws -> (conversionID: Int64, eventID: String, rule: DedupeRule)? {
        for rule in configuration.dedupeRules {
            var found: Int64?
            switch rule {
            case .eventID:
                if let key = try existingKey(for: conversion, in: database),
                    key.firstSeenMillis >= millis - windowMillis
                {
                    found = key.conversionID
                }
            case .sourceKey:
                guard let sourceKey else { continue }
                let statement = try database.statement(
                    """
                    SELECT conversion_id FROM source_keys
                    WHERE dataset = ? AND event_name = ? AND source_key = ? AND first_seen_ms >= ?
                    """
                ).bind(
                    .text(conversion.dataset), .text(conversion.eventName), .text(sourceKey),
                    .int(millis - windowMillis))
                if try statement.step() { found = statement.int(0) }
            case .identity:
                let window = configuration.identityWindowSeconds
                let statement = try database.statement(
                    """
                    SELECT conversion_id FROM identity_keys
                    WHERE dataset = ? AND event_name = ? AND identity = ?
                        AND event_time BETWEEN ? AND ?
                    ORDER BY event_time LIMIT 1
                    """)
                for identity in identities where found == nil {
                    statement.reset()
                    try statement.bind(
                        .text(conversion.dataset), .text(conversion.eventName), .text(identity),
                        .int(conversion.eventTime - window), .int(conversion.eventTime + window))
                    if try statement.step() { found = statement.int(0) }
                }
                statement.reset()
            }
            if let found {
                let lookup = try database.statement("SELECT event_id FROM conversions WHERE id = ?")
                    .bind(.int(found))
                let eventID =
                    try lookup.step() ? lookup.text(0) ?? conversion.eventID : conversion.eventID
                lookup.reset()
                return (found, eventID, rule)
            }
        }
        return nil
    }

    /// The newest conversion with this event id (and name, when given).
    private static func conversion(
        referencedBy reference: ConversionReference, in database: SQLiteDatabase
    ) throws -> (id: Int64, conversion: Conversion)? {
        let statement = try database.statement(
            """
            SELECT id, body FROM conversions
            WHERE event_id = ? AND (? IS NULL OR event_name = ?) ORDER BY id DESC LIMIT 1
            """
        ).bind(
            .text(reference.eventID), .optionalText(reference.eventName),
            .optionalText(reference.eventName))
        guard try statement.step() else { return nil }
        let id = statement.int(0)
        let body = statement.text(1) ?? ""
        statement.reset()
        return (id, try JSONDecoder().decode(Conversion.self, from: Data(body.utf8)))
    }

    /// The source key and identities of a new conversion, so later copies find it.
    private static func insertKeys(
        of conversion: Conversion, id: Int64, sourceKey: String?, identities: [String],
        at millis: Int64, into database: SQLiteDatabase
    ) throws {
        if let sourceKey {
            try database.statement(
                """
                INSERT INTO source_keys (dataset, event_name, source_key, conversion_id,
                    first_seen_ms)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (dataset, event_name, source_key) DO UPDATE SET
                    conversion_id = excluded.conversion_id, first_seen_ms = excluded.first_seen_ms
                """
            ).bind(
                .text(conversion.dataset), .text(conversion.eventName), .text(sourceKey),
                .int(id), .int(millis)
            ).run()
        }
        let insert = try database.statement(
            """
            INSERT INTO identity_keys (dataset, event_name, identity, event_time, conversion_id)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        for identity in identities {
            insert.reset()
            try insert.bind(
                .text(conversion.dataset), .text(conversion.eventName), .text(identity),
                .int(conversion.eventTime), .int(id)
            ).run()
        }
    }

    private static func profile(
        of signal: InboundSignal, in database: SQLiteDatabase
    ) throws -> ContactProfile {
        let statement = try database.statement(
            "SELECT profile FROM profiles WHERE page_id = ? AND page_scoped_user_id = ?"
        ).bind(.text(signal.pageID), .text(signal.pageScopedUserID))
        guard try statement.step(), let json = statement.text(0) else { return ContactProfile() }
        return try JSONDecoder().decode(ContactProfile.self, from: Data(json.utf8))
    }

    private static func updateProfile(
        of signal: InboundSignal, with update: ProfileUpdate, in database: SQLiteDatabase
    ) throws {
        let next = try profile(of: signal, in: database).applying(update)
        let json = String(decoding: try JSONEncoder().encode(next), as: UTF8.self)
        try database.statement(
            """
            INSERT INTO profiles (page_id, page_scoped_user_id, profile, updated_ms)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (page_id, page_scoped_user_id) DO UPDATE SET
                profile = excluded.profile, updated_ms = excluded.updated_ms
            """
        ).bind(
            .text(signal.pageID), .text(signal.pageScopedUserID), .text(json),
            .int(signal.timestampMillis)
        ).run()
    }

    private static func rememberReferral(
        _ referral: Referral, of signal: InboundSignal, in database: SQLiteDatabase
    ) throws {
        let json = String(decoding: try JSONEncoder().encode(referral), as: UTF8.self)
        try database.statement(
            """
            INSERT INTO threads (page_id, page_scoped_user_id, referral, first_seen_ms)
            VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
            """
        ).bind(
            .text(signal.pageID), .text(signal.pageScopedUserID), .text(json),
            .int(signal.timestampMillis)
        ).run()
    }

    private static func firstReferral(
        of signal: InboundSignal, in database: SQLiteDatabase
    ) throws -> Referral? {
        let statement = try database.statement(
            "SELECT referral FROM threads WHERE page_id = ? AND page_scoped_user_id = ?"
        ).bind(.text(signal.pageID), .text(signal.pageScopedUserID))
        guard try statement.step(), let json = statement.text(0) else { return nil }
        return try JSONDecoder().decode(Referral.self, from: Data(json.utf8))
    }

    private static func existingKey(
        for conversion: Conversion, in database: SQLiteDatabase
    ) throws -> (conversionID: Int64, firstSeenMillis: Int64)? {
        let statement = try database.statement(
            """
            SELECT conversion_id, first_seen_ms FROM dedupe_keys
            WHERE dataset = ? AND event_name = ? AND event_id = ?
            """
        ).bind(.text(conversion.dataset), .text(conversion.eventName), .text(conversion.eventID))
        guard try statement.step() else { return nil }
        return (statement.int(0), statement.int(1))
    }

    private static func insertConversion(
        _ conversion: Conversion, at millis: Int64, capiState: String, crmState: String,
        consentDropped: [String],
        into database: SQLiteDatabase
    ) throws -> Int64 {
        let body = String(decoding: try JSONEncoder().encode(conversion), as: UTF8.self)
        try database.statement(
            """
            INSERT INTO conversions (dataset, event_name, event_id, body, event_time,
                created_at_ms, capi_state, capi_next_at_ms, crm_state, crm_next_at_ms,
                consent_dropped, source, consent, consent_source, invalid_dropped)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .text(conversion.dataset), .text(conversion.eventName), .text(conversion.eventID),
            .text(body), .int(conversion.eventTime), .int(millis), .text(capiState), .int(millis),
            .text(crmState), .int(millis),
            consentDropped.isEmpty ? .null : .text(consentDropped.joined(separator: ",")),
            .optionalText(conversion.source), .optionalText(conversion.consent?.rawValue),
            .optionalText(conversion.consentSource),
            .optionalText(
                (conversion.invalidDropped ?? []).isEmpty
                    ? nil
                    : String(
                        decoding: try JSONEncoder().encode(conversion.invalidDropped), as: UTF8.self
                    ))
        ).run()
        let id = database.lastInsertRowID

        // Match-key coverage, counted as the conversion is made.
        let counting = try database.statement(
            """
            INSERT INTO match_key_counts (event_name, match_key, conversions) VALUES (?, ?, 1)
            ON CONFLICT (event_name, match_key) DO UPDATE SET conversions = conversions + 1
            """)
        for key in ["*"] + MatchKey.carried(by: conversion) {
            counting.reset()
            try counting.bind(.text(conversion.eventName), .text(key)).run()
        }

        // A key older than the window is replaced: past the window the same id is a new event.
        try database.statement(
            """
            INSERT INTO dedupe_keys (dataset, event_name, event_id, conversion_id, first_seen_ms)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (dataset, event_name, event_id) DO UPDATE SET
                conversion_id = excluded.conversion_id, first_seen_ms = excluded.first_seen_ms
            """
        ).bind(
            .text(conversion.dataset), .text(conversion.eventName), .text(conversion.eventID),
            .int(id), .int(millis)
        ).run()
        return id
    }

    private static func insertSignal(
        _ signal: InboundSignal, position: Int, deliveryID: Int64, result: ItemResult,
        conversionID: Int64?, into database: SQLiteDatabase
    ) throws {
        let outcome: String
        var reason: String?
        switch result {
        case .conversion: outcome = "conversion"
        case .dedupeHit: outcome = "dedupe_hit"
        case .notConversion(let why):
            outcome = "not_conversion"
            reason = why
        }
        try database.statement(
            """
            INSERT INTO signals (delivery_id, position, kind, page_id, page_scoped_user_id, mid,
                timestamp_ms, outcome, reason, conversion_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .int(deliveryID), .int(Int64(position)), .text(signal.kind.rawValue),
            .text(signal.pageID), .text(signal.pageScopedUserID), .optionalText(signal.mid),
            .int(signal.timestampMillis), .text(outcome), .optionalText(reason),
            conversionID.map(SQLiteValue.int) ?? .null
        ).run()
    }

    // MARK: Pixel echoes

    /// Records that the browser pixel fired `eventName` with `eventID`; a repeat keeps the
    /// first sighting. `qa` compares these with the server's conversions (pixel coverage).
    /// - Parameter seenAtMillis: epoch milliseconds.
    public func recordPixelEcho(
        eventID: String, eventName: String, seenAtMillis: Int64
    ) throws(JournalError) {
        let done = DispatchSemaphore(value: 0)
        let outcome = ErrorBox()
        recordPixelEcho(eventID: eventID, eventName: eventName, atMillis: seenAtMillis) {
            outcome.error = $0
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }

    /// Carries an error out of a writer completion; written before the semaphore is signalled.
    private final class ErrorBox: @unchecked Sendable {
        var error: JournalError?
    }

    // MARK: Delivery state

    public func due(
        for destination: Destination, nowMillis: Int64, limit: Int
    ) throws(JournalError) -> [PendingConversion] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                """
                SELECT id, body, \(column)_attempts FROM conversions
                WHERE \(column)_state = 'pending' AND \(column)_next_at_ms <= ?
                ORDER BY \(column)_next_at_ms, id LIMIT ?
                """
            ).bind(.int(nowMillis), .int(Int64(limit)))
            var pending: [PendingConversion] = []
            let decoder = JSONDecoder()
            while try statement.step() {
                let body = statement.text(1) ?? ""
                let conversion = try decoder.decode(Conversion.self, from: Data(body.utf8))
                pending.append(
                    PendingConversion(
                        conversionID: statement.int(0), conversion: conversion,
                        attempts: Int(statement.int(2))))
            }
            return pending
        }
    }

    public func nextDueMillis(for destination: Destination) throws(JournalError) -> Int64? {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                "SELECT min(\(column)_next_at_ms) FROM conversions WHERE \(column)_state = 'pending'"
            )
            guard try statement.step(), !statement.isNull(0) else { return nil }
            return statement.int(0)
        }
    }

    public func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)],
        destination: Destination
    ) throws(JournalError) {
        do {
            let now = attempt?.finishedAtMillis ?? Int64(Date().timeIntervalSince1970 * 1000)
            try writer.submitAndWait { database in
                if let attempt {
                    try SQLiteJournal.insert(attempt, into: database)
                }
                for (conversionID, change) in changes {
                    try SQLiteJournal.apply(
                        change, to: conversionID, destination: destination, nowMillis: now,
                        in: database)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot record delivery state: \(error)")
        }
    }

    private static func insert(_ attempt: DeliveryAttempt, into database: SQLiteDatabase) throws {
        try database.statement(
            """
            INSERT INTO attempts (destination, dataset, started_at_ms, finished_at_ms,
                http_status, outcome, response, event_count, request)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        ).bind(
            .text(attempt.destination.rawValue), .optionalText(attempt.dataset),
            .int(attempt.startedAtMillis), .int(attempt.finishedAtMillis),
            .optionalInt(attempt.httpStatus), .text(attempt.outcome), .text(attempt.response),
            .int(Int64(attempt.conversionIDs.count)), .optionalText(attempt.request)
        ).run()
        let attemptID = database.lastInsertRowID
        let link = try database.statement(
            "INSERT INTO attempt_events (attempt_id, conversion_id) VALUES (?, ?)")
        for conversionID in attempt.conversionIDs {
            link.reset()
            try link.bind(.int(attemptID), .int(conversionID)).run()
        }
    }

    private static func apply(
        _ change: DeliveryStateChange, to conversionID: Int64, destination: Destination,
        nowMillis: Int64, in database: SQLiteDatabase
    ) throws {
        let column = destination.rawValue
        let sql: String
        let values: [SQLiteValue]
        switch change {
        case .sent:
            sql = """
                UPDATE conversions SET \(column)_state = 'sent',
                    \(column)_attempts = \(column)_attempts + 1, \(column)_reason = NULL
                WHERE id = ?
                """
            values = [.int(conversionID)]
        case .retry(let atMillis, let reason):
            sql = """
                UPDATE conversions SET \(column)_attempts = \(column)_attempts + 1,
                    \(column)_next_at_ms = ?, \(column)_reason = ?
                WHERE id = ?
                """
            values = [.int(atMillis), .text(reason), .int(conversionID)]
        case .failed(let reason):
            sql = """
                UPDATE conversions SET \(column)_state = 'failed',
                    \(column)_attempts = \(column)_attempts + 1, \(column)_reason = ?
                WHERE id = ?
                """
            values = [.text(reason.summary), .int(conversionID)]
        case .expired(let reason):
            sql = """
                UPDATE conversions SET \(column)_state = 'expired', \(column)_reason = ?
                WHERE id = ?
                """
            values = [.text(reason), .int(conversionID)]
        }
        try database.statement(sql).bind(values).run()

        // Giving up leaves a dead letter beside the state, in the same transaction.
        let deadLetter: DeadLetterReason
        switch change {
        case .failed(let reason): deadLetter = reason
        case .expired(let reason):
            deadLetter = DeadLetterReason(code: DeadLetterReason.expiredCode, message: reason)
        case .sent, .retry: return
        }
        try database.statement(
            """
            INSERT INTO dead_letters (conversion_id, destination, reason_code, graph_code,
                graph_subcode, http_status, message, attempts, event, created_at_ms)
            SELECT id, ?, ?, ?, ?, ?, ?, \(column)_attempts, body, ? FROM conversions
            WHERE id = ?
            """
        ).bind(
            .text(destination.rawValue), .text(deadLetter.code),
            .optionalInt(deadLetter.graphCode), .optionalInt(deadLetter.graphSubcode),
            .optionalInt(deadLetter.httpStatus), .text(deadLetter.message), .int(nowMillis),
            .int(conversionID)
        ).run()
    }

    // MARK: Reading

    public func matchKeyCoverage() throws(JournalError) -> [MatchKeyCount] {
        try read { database in
            let statement = try database.statement(
                "SELECT event_name, match_key, conversions FROM match_key_counts"
                    + " ORDER BY event_name")
            var byName: [String: MatchKeyCount] = [:]
            var order: [String] = []
            while try statement.step() {
                let name = statement.text(0) ?? ""
                if byName[name] == nil {
                    order.append(name)
                    byName[name] = MatchKeyCount(eventName: name, conversions: 0, carrying: [:])
                }
                let count = Int(statement.int(2))
                if statement.text(1) == "*" {
                    byName[name]?.conversions = count
                } else if let key = statement.text(1) {
                    byName[name]?.carrying[key] = count
                }
            }
            return order.compactMap { byName[$0] }
        }
    }

    public func counters() throws(JournalError) -> JournalCounters {
        try read { database in
            var counters = JournalCounters()
            let deliveries = try database.statement("SELECT count(*) FROM deliveries")
            if try deliveries.step() { counters.deliveries = Int(deliveries.int(0)) }
            let drops = try database.statement(
                """
                SELECT (SELECT count(*) FROM conversions WHERE consent_dropped IS NOT NULL)
                    + (SELECT count(*) FROM signals WHERE reason LIKE 'consent:%')
                """)
            if try drops.step() { counters.consentDrops = Int(drops.int(0)) }
            let pixel = try database.statement(
                """
                SELECT (SELECT count(*) FROM pixel_echoes),
                    (SELECT count(*) FROM conversions c WHERE EXISTS (SELECT 1 FROM pixel_echoes p
                        WHERE p.event_id = c.event_id AND p.event_name = c.event_name)),
                    (SELECT count(*) FROM conversions)
                """)
            if try pixel.step() {
                counters.pixelEchoes = Int(pixel.int(0))
                counters.pixelMatched = Int(pixel.int(1))
                counters.conversionsMade = Int(pixel.int(2))
            }

            let signals = try database.statement(
                "SELECT outcome, count(*) FROM signals GROUP BY outcome")
            while try signals.step() {
                let count = Int(signals.int(1))
                counters.received += count
                switch signals.text(0) {
                case "conversion": counters.conversions += count
                case "dedupe_hit":
                    counters.conversions += count
                    counters.dedupeHits += count
                default: counters.notConversions += count
                }
            }

            for destination in Destination.allCases {
                let column = destination.rawValue
                let states = try database.statement(
                    "SELECT \(column)_state, count(*) FROM conversions GROUP BY \(column)_state")
                while try states.step() {
                    let count = Int(states.int(1))
                    switch (destination, states.text(0)) {
                    case (.capi, "pending"): counters.capiPending = count
                    case (.capi, "sent"): counters.capiSent = count
                    case (.capi, "expired"): counters.capiExpired = count
                    case (.capi, "failed"): counters.capiFailed = count
                    case (.capi, "shadow"): counters.capiShadow = count
                    case (.crm, "pending"): counters.crmPending = count
                    case (.crm, "sent"): counters.crmSent = count
                    case (.crm, "failed"), (.crm, "expired"): counters.crmFailed += count
                    default: break
                    }
                }
            }
            return counters
        }
    }

    public func backlog(for destination: Destination) throws(JournalError) -> [String: Int] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                """
                SELECT dataset, count(*) FROM conversions WHERE \(column)_state = 'pending'
                GROUP BY dataset
                """)
            var backlog: [String: Int] = [:]
            while try statement.step() {
                backlog[statement.text(0) ?? ""] = Int(statement.int(1))
            }
            return backlog
        }
    }

    public func inspect(eventID: String) throws(JournalError) -> [Inspection] {
        try read { database in
            let conversions = try database.statement(
                """
                SELECT c.id, c.body, c.capi_state, c.capi_reason, c.crm_state, c.crm_reason,
                    d.body, d.source, s.mid
                FROM conversions c
                LEFT JOIN signals s ON s.conversion_id = c.id AND s.outcome = 'conversion'
                LEFT JOIN deliveries d ON d.id = s.delivery_id
                WHERE c.event_id = ? ORDER BY c.id DESC
                """
            ).bind(.text(eventID))
            var found: [Inspection] = []
            let decoder = JSONDecoder()
            while try conversions.step() {
                let conversion = try decoder.decode(
                    Conversion.self, from: Data((conversions.text(1) ?? "").utf8))
                found.append(
                    Inspection(
                        conversionID: conversions.int(0), conversion: conversion,
                        capiState: conversions.text(2) ?? "", capiReason: conversions.text(3),
                        crmState: conversions.text(4) ?? "", crmReason: conversions.text(5),
                        inboundBody: conversions.blob(6), inboundSource: conversions.text(7) ?? "",
                        mid: conversions.text(8), attempts: []))
            }
            conversions.reset()

            let attempts = try database.statement(
                """
                SELECT a.destination, a.dataset, a.started_at_ms, a.finished_at_ms, a.http_status,
                    a.response, a.outcome
                FROM attempts a JOIN attempt_events e ON e.attempt_id = a.id
                WHERE e.conversion_id = ? ORDER BY a.id
                """)
            for index in found.indices {
                attempts.reset()
                try attempts.bind(.int(found[index].conversionID))
                while try attempts.step() {
                    found[index].attempts.append(
                        DeliveryAttempt(
                            destination: Destination(rawValue: attempts.text(0) ?? "") ?? .capi,
                            dataset: attempts.text(1), startedAtMillis: attempts.int(2),
                            finishedAtMillis: attempts.int(3),
                            httpStatus: attempts.isNull(4) ? nil : Int(attempts.int(4)),
                            response: attempts.text(5) ?? "", outcome: attempts.text(6) ?? "",
                            conversionIDs: [found[index].conversionID]))
                }
            }
            return found
        }
    }

    public func requeue(
        eventID: String, confirm: Bool, nowMillis: Int64
    ) throws(JournalError) -> RequeueResult {
        let box = RequeueBox()
        do {
            try writer.submitAndWait { database in
                let find = try database.statement(
                    "SELECT id, capi_state FROM conversions WHERE event_id = ? ORDER BY id DESC LIMIT 1"
                ).bind(.text(eventID))
                guard try find.step() else {
                    box.result = .unknownEvent
                    return
                }
                let id = find.int(0)
                let state = find.text(1) ?? ""
                find.reset()
                // A pending event may be in a batch on the wire right now; queuing it again
                // would be overwritten when that batch is recorded, and say nothing true.
                guard state != "pending" else {
                    box.result = .alreadyQueued(conversionID: id)
                    return
                }
                guard state != "sent" || confirm else {
                    box.result = .alreadyDelivered(conversionID: id)
                    return
                }
                try database.statement(
                    """
                    UPDATE conversions SET capi_state = 'pending', capi_next_at_ms = ?,
                        capi_attempts = 0, capi_reason = NULL,
                        crm_state = CASE WHEN crm_state = 'failed' THEN 'pending' ELSE crm_state END,
                        crm_next_at_ms = ?
                    WHERE id = ?
                    """
                ).bind(.int(nowMillis), .int(nowMillis), .int(id)).run()
                try database.statement(
                    """
                    UPDATE dead_letters SET resent_at_ms = ?
                    WHERE conversion_id = ? AND resent_at_ms IS NULL
                    """
                ).bind(.int(nowMillis), .int(id)).run()
                box.result = .requeued(conversionID: id)
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot queue \(eventID) again: \(error)")
        }
        return box.result ?? .unknownEvent
    }

    public func recordPixelEcho(
        eventID: String, eventName: String, atMillis: Int64,
        completion: @escaping @Sendable (JournalError?) -> Void
    ) {
        writer.submit(
            { database in
                try database.statement(
                    """
                    INSERT INTO pixel_echoes (event_id, event_name, seen_at_ms) VALUES (?, ?, ?)
                    ON CONFLICT (event_id, event_name) DO NOTHING
                    """
                ).bind(.text(eventID), .text(eventName), .int(atMillis)).run()
            },
            done: { error in
                completion(
                    error.map {
                        $0 as? JournalError
                            ?? JournalError(.commitFailed, "cannot record the pixel echo: \($0)")
                    })
            })
    }

    // MARK: Dead letters

    public func deadLetters(
        matching filter: DeadLetterFilter, limit: Int
    ) throws(JournalError) -> [DeadLetter] {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        if !filter.includeResent { conditions.append("d.resent_at_ms IS NULL") }
        if let since = filter.sinceMillis {
            conditions.append("d.created_at_ms >= ?")
            values.append(.int(since))
        }
        if let eventID = filter.eventID {
            conditions.append("c.event_id = ?")
            values.append(.text(eventID))
        }
        if let destination = filter.destination {
            conditions.append("d.destination = ?")
            values.append(.text(destination.rawValue))
        }
        if let reason = filter.reason {
            // A bare number is a Graph code, whichever reason carried it (a code 2 that ran
            // out of attempts is still a code 2); anything else is a reason code.
            if let code = Int64(reason) {
                conditions.append("d.graph_code = ?")
                values.append(.int(code))
            } else {
                conditions.append("d.reason_code = ?")
                values.append(.text(reason))
            }
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        values.append(.int(Int64(limit)))
        return try read { database in
            let statement = try database.statement(
                """
                SELECT d.id, d.conversion_id, d.destination, d.reason_code, d.graph_code,
                    d.graph_subcode, d.http_status, d.message, d.attempts, d.event,
                    d.created_at_ms, d.resent_at_ms
                FROM dead_letters d JOIN conversions c ON c.id = d.conversion_id
                \(whereClause) ORDER BY d.id LIMIT ?
                """
            ).bind(values)
            var found: [DeadLetter] = []
            let decoder = JSONDecoder()
            func optionalInt(_ column: Int32) -> Int? {
                statement.isNull(column) ? nil : Int(statement.int(column))
            }
            while try statement.step() {
                let conversion = try decoder.decode(
                    Conversion.self, from: Data((statement.text(9) ?? "").utf8))
                found.append(
                    DeadLetter(
                        id: statement.int(0), conversionID: statement.int(1),
                        destination: Destination(rawValue: statement.text(2) ?? "") ?? .capi,
                        reason: DeadLetterReason(
                            code: statement.text(3) ?? "", graphCode: optionalInt(4),
                            graphSubcode: optionalInt(5), httpStatus: optionalInt(6),
                            message: statement.text(7) ?? ""),
                        attempts: Int(statement.int(8)), conversion: conversion,
                        createdAtMillis: statement.int(10),
                        resentAtMillis: statement.isNull(11) ? nil : statement.int(11)))
            }
            return found
        }
    }

    public func resend(
        deadLetterIDs: [Int64], nowMillis: Int64
    ) throws(JournalError) -> [Int64] {
        let box = ResendBox()
        do {
            try writer.submitAndWait { database in
                for id in deadLetterIDs {
                    let find = try database.statement(
                        """
                        SELECT conversion_id, destination FROM dead_letters
                        WHERE id = ? AND resent_at_ms IS NULL
                        """
                    ).bind(.int(id))
                    guard try find.step(),
                        let destination = Destination(rawValue: find.text(1) ?? "")
                    else {
                        find.reset()
                        continue
                    }
                    let conversionID = find.int(0)
                    find.reset()
                    let column = destination.rawValue
                    // Only a conversion still given up at that destination is queued: one an
                    // operator re-sent another way meanwhile is already on its way.
                    try database.statement(
                        """
                        UPDATE conversions SET \(column)_state = 'pending',
                            \(column)_next_at_ms = ?, \(column)_attempts = 0,
                            \(column)_reason = NULL
                        WHERE id = ? AND \(column)_state IN ('failed', 'expired')
                        """
                    ).bind(.int(nowMillis), .int(conversionID)).run()
                    guard database.changes > 0 else { continue }
                    try database.statement(
                        """
                        UPDATE dead_letters SET resent_at_ms = ?
                        WHERE conversion_id = ? AND destination = ? AND resent_at_ms IS NULL
                        """
                    ).bind(.int(nowMillis), .int(conversionID), .text(column)).run()
                    box.ids.append(id)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot queue dead letters again: \(error)")
        }
        return box.ids
    }

    /// The state (`pending`, `sent`, `failed`, `expired`) of each conversion at a destination,
    /// for a tool waiting on a resend.
    public func states(
        of conversionIDs: [Int64], at destination: Destination
    ) throws(JournalError) -> [Int64: String] {
        let column = destination.rawValue
        return try read { database in
            let statement = try database.statement(
                "SELECT \(column)_state FROM conversions WHERE id = ?")
            var states: [Int64: String] = [:]
            for id in conversionIDs {
                statement.reset()
                try statement.bind(.int(id))
                if try statement.step() { states[id] = statement.text(0) ?? "" }
            }
            return states
        }
    }

    /// Runs a read on the reader connection.
    func read<T>(_ body: (SQLiteDatabase) throws -> T) throws(JournalError) -> T {
        readLock.lock()
        defer {
            reader.resetStatements()
            readLock.unlock()
        }
        do {
            return try body(reader)
        } catch {
            throw JournalError(.io, "journal read failed: \(error)")
        }
    }

    // MARK: Schema

    private static func migrate(_ database: SQLiteDatabase, path: String) throws {
        let version = try database.statement("PRAGMA user_version")
        let current = try version.step() ? Int(version.int(0)) : 0
        // An unfinished statement would keep a read snapshot open on the writer connection,
        // and its first write would then fail at once with SQLITE_BUSY whenever another
        // process (a `resend` beside the relay) had written since.
        version.reset()
        guard current <= JournalSchema.latestVersion else {
            throw JournalError(
                .incompatible,
                "journal \(path) has schema version \(current), newer than this capi-relay"
                    + " understands (\(JournalSchema.latestVersion)); run the newer capi-relay"
                    + " or point the config at another journal")
        }
        for (index, migration) in JournalSchema.migrations.enumerated() where index >= current {
            try database.execute("BEGIN IMMEDIATE")
            do {
                try database.execute(migration)
                try database.execute("PRAGMA user_version = \(index + 1)")
                try database.execute("COMMIT")
            } catch {
                try? database.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// Carries a resend's queued ids out of its write job.
private final class ResendBox: @unchecked Sendable {
    var ids: [Int64] = []
}

/// Carries a requeue's result out of its write job.
private final class RequeueBox: @unchecked Sendable {
    var result: RequeueResult?
}

/// Carries the receipt from the write job to its completion, both on the writer thread.
private final class ReceiptBox: @unchecked Sendable {
    var receipt: AppendReceipt?
}
