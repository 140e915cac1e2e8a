import Foundation
import RelayCore

/// How one relay takes part in a journal shared by several.
public struct PostgresJournalOptions: Sendable {
    /// This relay's name among those sharing the database: it owns the leases this relay
    /// takes and labels its attempts. Two running relays must never share a name.
    public var node: String
    /// How long a claim on a conversion lasts, in seconds. A relay records every claimed
    /// conversion well within it; a relay that died leaves its claims to the others once it
    /// ends. Longer than a request's timeout, or a slow request's events could go out twice.
    public var leaseSeconds: Double

    public static let defaultLeaseSeconds = 30.0

    public init(node: String, leaseSeconds: Double = PostgresJournalOptions.defaultLeaseSeconds) {
        self.node = node
        self.leaseSeconds = leaseSeconds
    }
}

/// The shared journal: one PostgreSQL database that several relays write and deliver from.
///
/// Every decision is the database's: an append's dedupe, consent and profile changes run in
/// one transaction that holds the event's keys (``AppendDatabase/serialize(on:)``), so a
/// webhook accepted by any relay is a duplicate on all of them; delivery takes conversions
/// with `FOR UPDATE SKIP LOCKED` and leases them to this relay until it records them, so no
/// two relays send the same batch.
///
/// Like ``SQLiteJournal``, writes go through one group-commit writer (one connection, many
/// appends to a transaction); reads and claims use a second connection behind a lock.
public final class PostgresJournal: Journal, @unchecked Sendable {
    /// The database URL without its password, for logs and messages.
    public let redactedURL: String
    public let options: PostgresJournalOptions
    let configuration: JournalConfiguration
    let writer: GroupCommitWriter<PostgresConnection>
    /// Guarded by `readLock`.
    private let reader: PostgresConnection
    private let readLock = NSLock()
    /// Guarded by `readLock`: whether the reader's session holds this relay's node name. A
    /// reconnected session takes it again; while another relay holds it, this one claims no
    /// delivery work and reports itself unready.
    private var holdsNodeName = true

    /// Connects, brings the schema up to date, and names this relay on both connections.
    public init(
        url: String, options: PostgresJournalOptions,
        configuration: JournalConfiguration = .init()
    ) throws(JournalError) {
        redactedURL = PostgresConnection.redacted(url)
        self.options = options
        self.configuration = configuration
        do {
            let writeConnection = try Self.connect(url, node: options.node)
            try PostgresSchema.migrate(writeConnection)
            reader = try Self.connect(url, node: options.node)
            try Self.claimNodeName(options.node, on: reader, url: redactedURL)
            writer = GroupCommitWriter(database: writeConnection)
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.io, "cannot open journal \(redactedURL): \(error)")
        }
    }

    /// The two-key advisory lock class of node names: a space apart from the one-key locks
    /// appends take on their events' keys.
    static let nodeLockClass: Int32 = 0x6361_7069  // "capi"

    /// Takes the session-scoped lock that says a relay runs as `node` on this database, which
    /// ends with the session (a killed relay's too): two live relays under one name would
    /// each take the other's claims for their own and send them twice. A relay restarted under
    /// its name may find its old session not yet ended, so it tries for a few seconds.
    private static func claimNodeName(
        _ node: String, on connection: PostgresConnection, url: String
    ) throws {
        let deadline = Date().addingTimeInterval(5)
        while true {
            if try tryNodeName(node, on: connection) { return }
            guard Date() < deadline else {
                throw JournalError(
                    .incompatible,
                    "another relay is running as node \(node) on journal \(url); give each relay"
                        + " a node name of its own")
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    /// One attempt at the node-name lock; true when this session holds it.
    private static func tryNodeName(_ node: String, on connection: PostgresConnection) throws
        -> Bool
    {
        let rows = try connection.query(
            "SELECT pg_try_advisory_lock($1::integer, hashtext($2))", [String(nodeLockClass), node])
        return rows.first?.first == "t"
    }

    /// Nil while this relay's reader holds its node name (taking it again after a reconnect),
    /// else why it does not.
    func nodeNameProblem() -> JournalError? {
        readLock.lock()
        defer { readLock.unlock() }
        if !holdsNodeName {
            holdsNodeName = (try? Self.tryNodeName(options.node, on: reader)) ?? false
        }
        return holdsNodeName ? nil : nodeNameTaken
    }

    private var nodeNameTaken: JournalError {
        JournalError(
            .incompatible,
            "another relay holds node name \(options.node) on journal \(redactedURL) since this"
                + " relay's connection dropped; this relay claims no delivery work until it is free"
        )
    }

    private static func connect(_ url: String, node: String) throws -> PostgresConnection {
        let connection = try PostgresConnection(url: url)
        try connection.identify(as: node)
        return connection
    }

    deinit {
        writer.close()
    }

    /// Hands back this relay's unrecorded claims, so the other relays need not wait out the
    /// lease after a clean stop, then stops the writer. Called once delivery has stopped: a
    /// batch still on the wire at the shutdown deadline may then go out again from another
    /// relay, with the same event_ids, as after a restart of a single relay.
    public func close() {
        let node = options.node
        writer.submit(
            { connection in
                for column in Destination.allCases.map(\.rawValue) {
                    try connection.query(
                        """
                        UPDATE conversions SET \(column)_lease_owner = NULL,
                            \(column)_lease_until_ms = NULL
                        WHERE \(column)_state = 'pending' AND \(column)_lease_owner = $1
                        """, [node])
                }
            }, done: { _ in })
        writer.close()
        // The name is free for this relay's successor as soon as it stops.
        readLock.withLock { reader.close() }
    }

    /// Transactions committed since this journal was opened; concurrent appends share them.
    public var transactionsCommitted: Int { writer.transactionsCommitted }

    public var claimLifetimeSeconds: Double? { options.leaseSeconds }

    // MARK: Appending

    public func append(
        _ delivery: InboundDelivery,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalError>) -> Void
    ) {
        let box = ReceiptBox()
        let appender = JournalAppender(configuration: configuration)
        writer.submit(
            { database in box.receipt = try appender.insert(delivery, into: database) },
            done: { completion(box.result(error: $0)) })
    }

    public func recordPixelEcho(
        eventID: String, eventName: String, atMillis: Int64,
        completion: @escaping @Sendable (JournalError?) -> Void
    ) {
        writer.submit(
            { database in
                try database.query(
                    """
                    INSERT INTO pixel_echoes (event_id, event_name, seen_at_ms) VALUES ($1, $2, $3)
                    ON CONFLICT (event_id, event_name) DO NOTHING
                    """, [eventID, eventName, String(atMillis)])
            },
            done: { error in
                completion(
                    error.map {
                        $0 as? JournalError
                            ?? JournalError(.commitFailed, "cannot record the pixel echo: \($0)")
                    })
            })
    }

    // MARK: Delivery state

    /// Claims what is due: conversions no other live relay holds, leased to this relay until
    /// the lease runs out (by the database's clock, so relays' clocks need not agree). This
    /// relay's own unrecorded claims come back too: its dispatcher runs one pass at a time, so
    /// a claim it still holds at the next pass is one it never sent.
    public func due(
        for destination: Destination, nowMillis: Int64, limit: Int
    ) throws(JournalError) -> [PendingConversion] {
        // Without its name, another relay may own this relay's claims: take none.
        if nodeNameProblem() != nil { return [] }
        let column = destination.rawValue
        let rows = try read(claiming: true) { connection in
            try connection.query(
                """
                WITH due AS (
                    SELECT id FROM conversions
                    WHERE \(column)_state = 'pending' AND \(column)_next_at_ms <= $1
                        AND (\(column)_lease_until_ms IS NULL
                            OR \(column)_lease_until_ms <= \(Self.databaseNow)
                            OR \(column)_lease_owner = $2)
                    ORDER BY \(column)_next_at_ms, id LIMIT $3
                    FOR UPDATE SKIP LOCKED)
                UPDATE conversions c SET \(column)_lease_owner = $2,
                    \(column)_lease_until_ms = \(Self.databaseNow) + $4
                FROM due WHERE c.id = due.id
                RETURNING c.id, c.body, c.\(column)_attempts, c.\(column)_next_at_ms
                """,
                [
                    String(nowMillis), options.node, String(limit),
                    String(Int64(options.leaseSeconds * 1000)),
                ])
        }
        do {
            let decoder = JSONDecoder()
            return try rows.map { row in
                (
                    next: Int64(row[3] ?? "") ?? 0,
                    pending: PendingConversion(
                        conversionID: Int64(row[0] ?? "") ?? 0,
                        conversion: try decoder.decode(
                            Conversion.self, from: Data((row[1] ?? "").utf8)),
                        attempts: Int(row[2] ?? "") ?? 0)
                )
            }
            // UPDATE … RETURNING keeps no order: oldest first, as the dispatcher expects.
            .sorted { ($0.next, $0.pending.conversionID) < ($1.next, $1.pending.conversionID) }
            .map(\.pending)
        } catch {
            throw JournalError(.io, "journal read failed: \(error)")
        }
    }

    /// The database's clock in epoch milliseconds, as SQL.
    static let databaseNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    /// When something pending next becomes due here: its retry time, or for a conversion
    /// another relay holds, when that relay's lease runs out.
    public func nextDueMillis(for destination: Destination) throws(JournalError) -> Int64? {
        let column = destination.rawValue
        let rows = try read { connection in
            try connection.query(
                """
                SELECT min(CASE WHEN \(column)_lease_until_ms > \(Self.databaseNow)
                        AND \(column)_lease_owner <> $1
                    THEN greatest(\(column)_next_at_ms, \(column)_lease_until_ms)
                    ELSE \(column)_next_at_ms END)
                FROM conversions WHERE \(column)_state = 'pending'
                """, [options.node])
        }
        return rows.first?.first.flatMap { $0.flatMap { Int64($0) } }
    }

    public func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)],
        destination: Destination
    ) throws(JournalError) {
        let node = options.node
        do {
            let now = attempt?.finishedAtMillis ?? Int64(Date().timeIntervalSince1970 * 1000)
            try writer.submitAndWait { connection in
                if let attempt {
                    try Self.insert(attempt, node: node, into: connection)
                }
                // A delivered batch is one statement however many events it held: each
                // statement is a round trip on the writer every append waits behind.
                let sent = changes.filter { $0.change == .sent }.map(\.conversionID)
                if !sent.isEmpty {
                    try Self.markSent(sent, destination: destination, in: connection)
                }
                for (conversionID, change) in changes where change != .sent {
                    try Self.apply(
                        change, to: conversionID, destination: destination, nowMillis: now,
                        in: connection)
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot record delivery state: \(error)")
        }
    }

    private static func insert(
        _ attempt: DeliveryAttempt, node: String, into connection: PostgresConnection
    ) throws {
        let id =
            try connection.query(
                """
                INSERT INTO attempts (destination, dataset, started_at_ms, finished_at_ms,
                    http_status, outcome, response, event_count, request, node)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                RETURNING id
                """,
                [
                    attempt.destination.rawValue, attempt.dataset,
                    String(attempt.startedAtMillis), String(attempt.finishedAtMillis),
                    attempt.httpStatus.map(String.init), attempt.outcome, attempt.response,
                    String(attempt.conversionIDs.count), attempt.request, node,
                ]
            ).first?.first ?? nil
        guard let id, !attempt.conversionIDs.isEmpty else { return }
        try connection.query(
            """
            INSERT INTO attempt_events (attempt_id, conversion_id)
            SELECT $1, unnest(string_to_array($2, ','))::bigint
            """, [id, attempt.conversionIDs.map(String.init).joined(separator: ",")])
    }

    /// Conversions delivered to a destination; their leases end.
    private static func markSent(
        _ conversionIDs: [Int64], destination: Destination, in connection: PostgresConnection
    ) throws {
        let column = destination.rawValue
        try connection.query(
            """
            UPDATE conversions SET \(column)_state = 'sent',
                \(column)_attempts = \(column)_attempts + 1, \(column)_reason = NULL,
                \(column)_lease_owner = NULL, \(column)_lease_until_ms = NULL
            WHERE id = ANY(string_to_array($1, ',')::bigint[])
            """, [conversionIDs.map(String.init).joined(separator: ",")])
    }

    /// One conversion's new state at a destination; every change ends this relay's lease.
    private static func apply(
        _ change: DeliveryStateChange, to conversionID: Int64, destination: Destination,
        nowMillis: Int64, in connection: PostgresConnection
    ) throws {
        let column = destination.rawValue
        let release = "\(column)_lease_owner = NULL, \(column)_lease_until_ms = NULL"
        let id = String(conversionID)
        switch change {
        case .sent:
            try markSent([conversionID], destination: destination, in: connection)
        case .retry(let atMillis, let reason):
            try connection.query(
                """
                UPDATE conversions SET \(column)_attempts = \(column)_attempts + 1,
                    \(column)_next_at_ms = $1, \(column)_reason = $2, \(release)
                WHERE id = $3
                """, [String(atMillis), reason, id])
        case .failed(let reason):
            try connection.query(
                """
                UPDATE conversions SET \(column)_state = 'failed',
                    \(column)_attempts = \(column)_attempts + 1, \(column)_reason = $1, \(release)
                WHERE id = $2
                """, [reason.summary, id])
        case .expired(let reason):
            try connection.query(
                """
                UPDATE conversions SET \(column)_state = 'expired', \(column)_reason = $1,
                    \(release)
                WHERE id = $2
                """, [reason, id])
        }

        // Giving up leaves a dead letter beside the state, in the same transaction.
        guard let deadLetter = change.deadLetterReason else { return }
        try connection.query(
            """
            INSERT INTO dead_letters (conversion_id, destination, reason_code, graph_code,
                graph_subcode, http_status, message, attempts, event, created_at_ms)
            SELECT id, $1, $2, $3, $4, $5, $6, \(column)_attempts, body, $7 FROM conversions
            WHERE id = $8
            """,
            [
                destination.rawValue, deadLetter.code, deadLetter.graphCode.map(String.init),
                deadLetter.graphSubcode.map(String.init), deadLetter.httpStatus.map(String.init),
                deadLetter.message, String(nowMillis), id,
            ])
    }

    // MARK: Reading

    public func matchKeyCoverage() throws(JournalError) -> [MatchKeyCount] {
        let rows = try read { connection in
            try connection.query(
                """
                SELECT event_name, match_key, sum(conversions) FROM match_key_counts
                GROUP BY event_name, match_key ORDER BY event_name
                """)
        }
        var byName: [String: MatchKeyCount] = [:]
        var order: [String] = []
        for row in rows {
            let name = row[0] ?? ""
            if byName[name] == nil {
                order.append(name)
                byName[name] = MatchKeyCount(eventName: name, conversions: 0, carrying: [:])
            }
            let count = Int(row[2] ?? "") ?? 0
            if row[1] == "*" {
                byName[name]?.conversions = count
            } else if let key = row[1] {
                byName[name]?.carrying[key] = count
            }
        }
        return order.compactMap { byName[$0] }
    }

    /// Totals of the whole database, every relay's deliveries and conversions: the counts
    /// each relay's triggers keep (schema version 2), added up, and the pixel matches counted
    /// from the echoes.
    public func counters() throws(JournalError) -> JournalCounters {
        try read { connection in
            var counts: [String: Int] = [:]
            for row in try connection.query(
                "SELECT name, sum(value) FROM journal_counts GROUP BY name")
            {
                counts[row[0] ?? ""] = Int(row[1] ?? "") ?? 0
            }
            counts["pixel_matched"] =
                Int(
                    try connection.query(
                        """
                        SELECT count(*) FROM pixel_echoes p JOIN conversions c
                            ON c.event_id = p.event_id AND c.event_name = p.event_name
                        """
                    ).first?.first?.flatMap { $0 } ?? "") ?? 0
            return JournalCounters(counts: counts)
        }
    }

    public func backlog(for destination: Destination) throws(JournalError) -> [String: Int] {
        let column = destination.rawValue
        let rows = try read { connection in
            try connection.query(
                """
                SELECT dataset, count(*) FROM conversions WHERE \(column)_state = 'pending'
                GROUP BY dataset
                """)
        }
        var backlog: [String: Int] = [:]
        for row in rows { backlog[row[0] ?? ""] = Int(row[1] ?? "") ?? 0 }
        return backlog
    }

    public func inspect(eventID: String) throws(JournalError) -> [Inspection] {
        try read { connection in
            let decoder = JSONDecoder()
            var found: [Inspection] = []
            for row in try connection.query(
                """
                SELECT c.id, c.body, c.capi_state, c.capi_reason, c.crm_state, c.crm_reason,
                    d.body, d.source, s.mid
                FROM conversions c
                LEFT JOIN signals s ON s.conversion_id = c.id AND s.outcome = 'conversion'
                LEFT JOIN deliveries d ON d.id = s.delivery_id
                WHERE c.event_id = $1 ORDER BY c.id DESC
                """, [eventID])
            {
                found.append(
                    Inspection(
                        conversionID: Int64(row[0] ?? "") ?? 0,
                        conversion: try decoder.decode(
                            Conversion.self, from: Data((row[1] ?? "").utf8)),
                        capiState: row[2] ?? "", capiReason: row[3], crmState: row[4] ?? "",
                        crmReason: row[5],
                        inboundBody: PostgresConnection.bytes(fromHex: row[6]),
                        inboundSource: row[7] ?? "", mid: row[8], attempts: []))
            }
            for index in found.indices {
                for row in try connection.query(
                    """
                    SELECT a.destination, a.dataset, a.started_at_ms, a.finished_at_ms,
                        a.http_status, a.response, a.outcome
                    FROM attempts a JOIN attempt_events e ON e.attempt_id = a.id
                    WHERE e.conversion_id = $1 ORDER BY a.id
                    """, [String(found[index].conversionID)])
                {
                    found[index].attempts.append(
                        DeliveryAttempt(
                            destination: Destination(rawValue: row[0] ?? "") ?? .capi,
                            dataset: row[1], startedAtMillis: Int64(row[2] ?? "") ?? 0,
                            finishedAtMillis: Int64(row[3] ?? "") ?? 0,
                            httpStatus: row[4].flatMap { Int($0) }, response: row[5] ?? "",
                            outcome: row[6] ?? "", conversionIDs: [found[index].conversionID]))
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
            try writer.submitAndWait { connection in
                // The row lock keeps a relay from claiming it between the look and the change.
                guard
                    let row = try connection.query(
                        """
                        SELECT id, capi_state FROM conversions WHERE event_id = $1
                        ORDER BY id DESC LIMIT 1 FOR UPDATE
                        """, [eventID]
                    ).first,
                    let id = Int64(row[0] ?? "")
                else {
                    box.result = .unknownEvent
                    return
                }
                let state = row[1] ?? ""
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
                try connection.query(
                    """
                    UPDATE conversions SET capi_state = 'pending', capi_next_at_ms = $1,
                        capi_attempts = 0, capi_reason = NULL, capi_lease_owner = NULL,
                        capi_lease_until_ms = NULL,
                        crm_state = CASE WHEN crm_state = 'failed' THEN 'pending' ELSE crm_state END,
                        crm_next_at_ms = $1
                    WHERE id = $2
                    """, [String(nowMillis), String(id)])
                try connection.query(
                    """
                    UPDATE dead_letters SET resent_at_ms = $1
                    WHERE conversion_id = $2 AND resent_at_ms IS NULL
                    """, [String(nowMillis), String(id)])
                box.result = .requeued(conversionID: id)
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError(.commitFailed, "cannot queue \(eventID) again: \(error)")
        }
        return box.result ?? .unknownEvent
    }

    /// Runs a read (or a claim, one statement) on the reader connection. A connection the
    /// server dropped is opened again once before the read fails.
    /// - Parameter claiming: the read takes delivery work, which a relay must not do without
    ///   its node name.
    func read<T>(claiming: Bool = false, _ body: (PostgresConnection) throws -> T)
        throws(JournalError) -> T
    {
        readLock.lock()
        defer { readLock.unlock() }
        do {
            return try body(reader)
        } catch let error as PostgresError where error.sqlState == nil {
            // No answer from the server at all: the connection may have dropped (a restart, a
            // failover). Open it again once, and read again.
            guard reader.isHealthy() else {
                throw JournalError(
                    .io, "journal read failed: \(error); reconnecting: \(reader.connectionProblem)")
            }
            // A new session: the node name went with the old one.
            holdsNodeName = (try? Self.tryNodeName(options.node, on: reader)) ?? false
            if claiming && !holdsNodeName { throw nodeNameTaken }
            do {
                return try body(reader)
            } catch {
                throw JournalError(.io, "journal read failed: \(error)")
            }
        } catch {
            throw JournalError(.io, "journal read failed: \(error)")
        }
    }
}

/// Carries a requeue's result out of its write job.
private final class RequeueBox: @unchecked Sendable {
    var result: RequeueResult?
}
