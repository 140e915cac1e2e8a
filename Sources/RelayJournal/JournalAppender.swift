import Foundation
import RelayCore

/// Appending a delivery: dedupe, consent, profiles and the conversion rows, inside the
/// caller's transaction. One implementation for every backend, so that a SQLite journal and a
/// PostgreSQL journal shared by several relays decide the same delivery the same way.
struct JournalAppender {
    var configuration: JournalConfiguration
    /// The states a new conversion starts in: `pending`, or `shadow` / `disabled`.
    var capiState: String
    var crmState: String
    /// Where the conversions this append makes are handed, with their ids, if anywhere.
    var made: MadeConversions?

    init(configuration: JournalConfiguration) {
        self.configuration = configuration
        capiState = configuration.shadow ? "shadow" : "pending"
        crmState = configuration.crmEnabled ? "pending" : "disabled"
    }

    var windowMillis: Int64 { configuration.dedupeWindowSeconds * 1000 }

    func insert(
        _ delivery: InboundDelivery, into database: some AppendDatabase
    ) throws -> AppendReceipt {
        let deliveryID = try database.insertReturningID(
            "INSERT INTO deliveries (source, received_at_ms, body) VALUES (?, ?, ?)",
            [.text(delivery.source), .int(delivery.receivedAtMillis), .blob(delivery.body)])

        var results: [ItemResult] = []
        var consentDropped: [Int: [String]] = [:]
        var matches: [Int: MatchedConversion] = [:]
        var inherited: [Int: InheritedPerson] = [:]
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

            let (result, conversionID, dropped, person) = try decide(
                item, in: delivery, into: database)
            if let dropped { consentDropped[position] = dropped }
            if let person { inherited[position] = person }

            let signalID = try insertSignal(
                item.signal, position: position, deliveryID: deliveryID, result: result,
                conversionID: conversionID, into: database)
            if case .dedupeHit(let matched, _, let rule) = result {
                try database.run(
                    """
                    INSERT INTO dedupe_hits (signal_id, matched_conversion_id, rule, source, at_ms)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                    [
                        .int(signalID), .int(matched), .text(rule), .text(delivery.source),
                        .int(delivery.receivedAtMillis),
                    ])

                // What the hit matched, for the feed: an echo names no event or dataset.
                if let row = try database.firstRow(
                    "SELECT event_name, dataset FROM conversions WHERE id = ?", [.int(matched)])
                {
                    matches[position] = MatchedConversion(
                        eventName: row.text(0) ?? "", dataset: row.text(1) ?? "")
                }
            }
            results.append(result)
        }
        return AppendReceipt(
            deliveryID: deliveryID, results: results, consentDropped: consentDropped,
            matches: matches, inherited: inherited)
    }

    /// What one item becomes: a new conversion, a dedupe hit, or not a conversion (with why).
    /// Returns the result, the conversion it concerns, field names removed for consent, and
    /// the person and dataset taken from the conversion the item refers to, if it does.
    private func decide(
        _ item: InboundItem, in delivery: InboundDelivery, into database: some AppendDatabase
    ) throws -> (ItemResult, Int64?, [String]?, InheritedPerson?) {
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
                                    + " does not hold; nothing was sent"), nil, nil, nil
                        )
                    }
                    return (
                        .dedupeHit(
                            matchedConversionID: referred.id,
                            eventID: referred.conversion.eventID, rule: DedupeRule.eventID.rawValue
                        ), referred.id, nil,
                        InheritedPerson(
                            pageID: signal.pageID, pageScopedUserID: signal.pageScopedUserID,
                            dataset: referred.conversion.dataset)
                    )
                }
                return (.notConversion(reason: reason), nil, nil, nil)
            }
            return (.notConversion(reason: "no outcome"), nil, nil, nil)
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
        let inherited = referred.map { _ in
            InheritedPerson(
                pageID: conversion.pageID, pageScopedUserID: conversion.pageScopedUserID,
                dataset: conversion.dataset)
        }
        guard !conversion.dataset.isEmpty else {
            return (
                .notConversion(
                    reason: "no dataset: the event names none, its page maps to none, and no"
                        + " earlier conversion of this person gives one"), nil, nil, nil
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

        // Every key this item could match on, held until the transaction ends: a copy of the
        // same event on another relay waits here and then finds this one's conversion.
        let identities = Self.identityKeys(of: conversion)
        let matchedIdentities = item.dedupeByIdentity ? identities : []
        try database.serialize(
            on: Self.decisionKeys(
                of: conversion, sourceKey: item.sourceKey, identities: matchedIdentities))

        let match = try findMatch(
            for: conversion, sourceKey: item.sourceKey, identities: matchedIdentities,
            at: delivery.receivedAtMillis, in: database)
        if decision.dropEvent && match == nil {
            return (
                .notConversion(
                    reason: "consent: not granted, and the policy drops the whole event"),
                nil, decision.droppedFields, inherited
            )
        }
        if let match {
            return (
                .dedupeHit(
                    matchedConversionID: match.conversionID, eventID: match.eventID,
                    rule: match.rule.rawValue), match.conversionID, nil, inherited
            )
        }
        // Meta refuses an event whose user_data is empty (code 100), so one whose only
        // identifiers went for lack of consent would only ever become a dead letter.
        let userData = CAPIEventEncoder.userData(conversion)
        if userData.isEmpty {
            let removed = decision.droppedFields.joined(separator: ", ")
            return (
                .notConversion(
                    reason: decision.droppedFields.isEmpty
                        ? "no customer information to match the event by; nothing was sent"
                        : "consent: nothing to match the event by is left once \(removed)"
                            + " went for lack of consent; nothing was sent"),
                nil, decision.droppedFields, inherited
            )
        }

        // A CRM does not need to hear of a conversion it reported itself, and a test event
        // (one with a test_event_code, for Meta's Test Events) must not become a CRM record.
        let id = try insertConversion(
            conversion, at: delivery.receivedAtMillis,
            crmState: delivery.source == "crm_echo" || conversion.testEventCode != nil
                ? "disabled" : crmState,
            consentDropped: decision.droppedFields, matchKeys: MatchKey.carried(in: userData),
            into: database)
        try insertKeys(
            of: conversion, id: id, sourceKey: item.sourceKey, identities: identities,
            at: delivery.receivedAtMillis, into: database)
        return (
            .conversion(conversionID: id, eventID: conversion.eventID), id,
            decision.droppedFields.isEmpty ? nil : decision.droppedFields, inherited
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

    /// The keys two writers deciding the same conversion have in common, sorted.
    static func decisionKeys(
        of conversion: Conversion, sourceKey: String?, identities: [String]
    ) -> [String] {
        let scope = "\(conversion.dataset)\u{1F}\(conversion.eventName)\u{1F}"
        var keys = ["event_id\u{1F}" + scope + conversion.eventID]
        if let sourceKey { keys.append("source_key\u{1F}" + scope + sourceKey) }
        keys += identities.map { "identity\u{1F}" + scope + $0 }
        return keys.sorted()
    }

    /// The earlier conversion this one repeats, by the first configured rule that matches.
    private func findMatch(
        for conversion: Conversion, sourceKey: String?, identities: [String], at millis: Int64,
        in database: some AppendDatabase
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
                found = try database.firstRow(
                    """
                    SELECT conversion_id FROM source_keys
                    WHERE dataset = ? AND event_name = ? AND source_key = ? AND first_seen_ms >= ?
                    """,
                    [
                        .text(conversion.dataset), .text(conversion.eventName), .text(sourceKey),
                        .int(millis - windowMillis),
                    ])?.int(0)
            case .identity:
                let window = configuration.identityWindowSeconds
                for identity in identities where found == nil {
                    found = try database.firstRow(
                        """
                        SELECT conversion_id FROM identity_keys
                        WHERE dataset = ? AND event_name = ? AND identity = ?
                            AND event_time BETWEEN ? AND ?
                        ORDER BY event_time LIMIT 1
                        """,
                        [
                            .text(conversion.dataset), .text(conversion.eventName),
                            .text(identity), .int(conversion.eventTime - window),
                            .int(conversion.eventTime + window),
                        ])?.int(0)
                }
            }
            if let found {
                let eventID =
                    try database.firstRow(
                        "SELECT event_id FROM conversions WHERE id = ?", [.int(found)])?.text(0)
                    ?? conversion.eventID
                return (found, eventID, rule)
            }
        }
        return nil
    }

    /// The newest conversion with this event id (and name, when given).
    private func conversion(
        referencedBy reference: ConversionReference, in database: some AppendDatabase
    ) throws -> (id: Int64, conversion: Conversion)? {
        // The cast gives PostgreSQL the parameter's type, which `? IS NULL` alone does not.
        guard
            let row = try database.firstRow(
                """
                SELECT id, body FROM conversions
                WHERE event_id = ? AND (CAST(? AS TEXT) IS NULL OR event_name = ?)
                ORDER BY id DESC LIMIT 1
                """,
                [
                    .text(reference.eventID), .optionalText(reference.eventName),
                    .optionalText(reference.eventName),
                ])
        else { return nil }
        let body = row.text(1) ?? ""
        return (row.int(0), try JSONDecoder().decode(Conversion.self, from: Data(body.utf8)))
    }

    /// The source key and identities of a new conversion, so later copies find it.
    private func insertKeys(
        of conversion: Conversion, id: Int64, sourceKey: String?, identities: [String],
        at millis: Int64, into database: some AppendDatabase
    ) throws {
        if let sourceKey {
            try database.run(
                """
                INSERT INTO source_keys (dataset, event_name, source_key, conversion_id,
                    first_seen_ms)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (dataset, event_name, source_key) DO UPDATE SET
                    conversion_id = excluded.conversion_id, first_seen_ms = excluded.first_seen_ms
                """,
                [
                    .text(conversion.dataset), .text(conversion.eventName), .text(sourceKey),
                    .int(id), .int(millis),
                ])
        }
        for identity in identities {
            try database.run(
                """
                INSERT INTO identity_keys (dataset, event_name, identity, event_time, conversion_id)
                VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """,
                [
                    .text(conversion.dataset), .text(conversion.eventName), .text(identity),
                    .int(conversion.eventTime), .int(id),
                ])
        }
    }

    private func profile(
        of signal: InboundSignal, in database: some AppendDatabase
    ) throws -> ContactProfile {
        guard
            let json = try database.firstRow(
                "SELECT profile FROM profiles WHERE page_id = ? AND page_scoped_user_id = ?",
                [.text(signal.pageID), .text(signal.pageScopedUserID)])?.text(0)
        else { return ContactProfile() }
        return try JSONDecoder().decode(ContactProfile.self, from: Data(json.utf8))
    }

    private func updateProfile(
        of signal: InboundSignal, with update: ProfileUpdate, in database: some AppendDatabase
    ) throws {
        // Read, change, write: another relay changing the same person waits for this one, or
        // one of the two updates would be lost.
        try database.serialize(on: ["profile\u{1F}\(signal.pageID)\u{1F}\(signal.pageScopedUserID)"]
        )
        let next = try profile(of: signal, in: database).applying(update)
        let json = String(decoding: try JSONEncoder().encode(next), as: UTF8.self)
        try database.run(
            """
            INSERT INTO profiles (page_id, page_scoped_user_id, profile, updated_ms)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (page_id, page_scoped_user_id) DO UPDATE SET
                profile = excluded.profile, updated_ms = excluded.updated_ms
            """,
            [
                .text(signal.pageID), .text(signal.pageScopedUserID), .text(json),
                .int(signal.timestampMillis),
            ])
    }

    private func rememberReferral(
        _ referral: Referral, of signal: InboundSignal, in database: some AppendDatabase
    ) throws {
        let json = referral.storedJSONValue.serializedString
        try database.run(
            """
            INSERT INTO threads (page_id, page_scoped_user_id, referral, first_seen_ms)
            VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            [
                .text(signal.pageID), .text(signal.pageScopedUserID), .text(json),
                .int(signal.timestampMillis),
            ])
    }

    private func firstReferral(
        of signal: InboundSignal, in database: some AppendDatabase
    ) throws -> Referral? {
        guard
            let json = try database.firstRow(
                "SELECT referral FROM threads WHERE page_id = ? AND page_scoped_user_id = ?",
                [.text(signal.pageID), .text(signal.pageScopedUserID)])?.text(0)
        else { return nil }
        return try JSONDecoder().decode(Referral.self, from: Data(json.utf8))
    }

    /// The newest conversion with this event's dataset, name and id, through the conversions'
    /// event index.
    private func existingKey(
        for conversion: Conversion, in database: some AppendDatabase
    ) throws -> (conversionID: Int64, firstSeenMillis: Int64)? {
        try database.firstRow(
            """
            SELECT id, created_at_ms FROM conversions
            WHERE event_id = ? AND event_name = ? AND dataset = ?
            ORDER BY id DESC LIMIT 1
            """,
            [.text(conversion.eventID), .text(conversion.eventName), .text(conversion.dataset)]
        ).map { ($0.int(0), $0.int(1)) }
    }

    private func insertConversion(
        _ conversion: Conversion, at millis: Int64, crmState: String, consentDropped: [String],
        matchKeys: [String], into database: some AppendDatabase
    ) throws -> Int64 {
        let body = conversion.storedJSON
        let invalidDropped =
            (conversion.invalidDropped ?? []).isEmpty
            ? nil : InvalidValue.storedJSONValue(conversion.invalidDropped ?? []).serializedString
        let id =
            try database.insertReturningID(
                """
                INSERT INTO conversions (dataset, event_name, event_id, body, event_time,
                    created_at_ms, capi_state, capi_next_at_ms, crm_state, crm_next_at_ms,
                    consent_dropped, source, consent, consent_source, invalid_dropped)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(conversion.dataset), .text(conversion.eventName),
                    .text(conversion.eventID), .text(body), .int(conversion.eventTime),
                    .int(millis), .text(capiState), .int(millis), .text(crmState), .int(millis),
                    consentDropped.isEmpty ? .null : .text(consentDropped.joined(separator: ",")),
                    .optionalText(conversion.source), .optionalText(conversion.consent?.rawValue),
                    .optionalText(conversion.consentSource), .optionalText(invalidDropped),
                ])

        made?.add(id, conversion)

        // Match-key coverage, counted as the conversion is made.
        try database.countMatchKeys(
            ["*"] + matchKeys, eventName: conversion.eventName)

        return id
    }

    /// Records the signal and what it became; returns the signal's id.
    private func insertSignal(
        _ signal: InboundSignal, position: Int, deliveryID: Int64, result: ItemResult,
        conversionID: Int64?, into database: some AppendDatabase
    ) throws -> Int64 {
        let outcome: String
        var reason: String?
        switch result {
        case .conversion: outcome = "conversion"
        case .dedupeHit: outcome = "dedupe_hit"
        case .notConversion(let why):
            outcome = "not_conversion"
            reason = why
        }
        return try database.insertReturningID(
            """
            INSERT INTO signals (delivery_id, position, kind, page_id, page_scoped_user_id, mid,
                timestamp_ms, outcome, reason, conversion_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .int(deliveryID), .int(Int64(position)), .text(signal.kind.rawValue),
                .text(signal.pageID), .text(signal.pageScopedUserID), .optionalText(signal.mid),
                .int(signal.timestampMillis), .text(outcome), .optionalText(reason),
                conversionID.map(SQLiteValue.int) ?? .null,
            ])
    }
}
