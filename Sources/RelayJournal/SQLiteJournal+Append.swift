import Foundation
import RelayCore

/// Appending a delivery: dedupe, consent, profiles and the conversion rows, in one
/// transaction per delivery.
extension SQLiteJournal {
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
}

/// Carries the receipt from the write job to its completion, both on the writer thread.
private final class ReceiptBox: @unchecked Sendable {
    var receipt: AppendReceipt?
}
