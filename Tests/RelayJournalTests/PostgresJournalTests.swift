import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// What only the shared journal does: several relays on one database, deciding together and
/// claiming delivery work so that none sends what another sends.
@Suite struct PostgresJournalTests {
    /// Two relays' journals on one fresh database.
    func twoNodes(
        leaseSeconds: Double = 30
    ) throws -> (url: String, a: PostgresJournal, b: PostgresJournal) {
        let url = try PostgresTestServer.freshDatabase()
        let a = try PostgresJournal(
            url: url, options: PostgresJournalOptions(node: "relay-a", leaseSeconds: leaseSeconds))
        let b = try PostgresJournal(
            url: url, options: PostgresJournalOptions(node: "relay-b", leaseSeconds: leaseSeconds))
        return (url, a, b)
    }

    func lead(_ index: Int) -> InboundItem {
        InboundItem(
            signal: signal(.quickReply, psid: "u\(index)", mid: "m\(index)"),
            outcome: .conversion(conversion("e\(index)", psid: "u\(index)")),
            sourceKey: "mid:m\(index)")
    }

    @Test func theSameWebhookAtTwoRelaysAtOnceIsOneConversion() throws {
        let (_, a, b) = try twoNodes()
        defer {
            a.close()
            b.close()
        }

        // Every webhook reaches both relays at the same moment, as a redelivery through a
        // load balancer can: both decide it while the other's transaction is still open.
        let results = Results()
        let done = DispatchGroup()
        for index in 0..<100 {
            for journal in [a, b] {
                done.enter()
                journal.append(delivery([lead(index)])) { result in
                    results.add(index, result)
                    done.leave()
                }
            }
        }
        done.wait()

        #expect(results.failures == 0, "a race between relays must be a dedupe hit, not an error")
        for index in 0..<100 {
            let outcomes = results.outcomes(of: index)
            #expect(outcomes.conversions == 1, "webhook \(index): \(outcomes)")
            #expect(outcomes.dedupeHits == 1, "webhook \(index): \(outcomes)")
        }
        let counters = try a.counters()
        #expect(counters.capiPending == 100)
        #expect(counters.dedupeHits == 100)
        #expect(try b.counters() == counters, "both relays read the same totals")
    }

    @Test func aProfileIsSharedSoConsentGivenAtOneRelayAppliesAtTheOther() throws {
        let (_, a, b) = try twoNodes()
        defer {
            a.close()
            b.close()
        }
        let email = Crypto.sha256Hex("person@example.com")
        _ = try a.appendAndWait(
            delivery([
                InboundItem(
                    signal: signal(.optin, mid: nil), outcome: .notConversion(reason: "optin"),
                    profileUpdate: ProfileUpdate(
                        consent: .granted, identifiers: ["em": [email]], consentSource: "optin"))
            ]))

        _ = try b.appendAndWait(
            delivery([
                InboundItem(signal: signal(.quickReply), outcome: .conversion(conversion("e1")))
            ]))
        let pending = try b.due(for: .capi, nowMillis: .max, limit: 10)
        #expect(pending.first?.conversion.userData?["em"] == [email])
        #expect(pending.first?.conversion.consent == .granted)
    }

    @Test func twoRelaysNeverClaimTheSameConversion() throws {
        let (_, a, b) = try twoNodes()
        defer {
            a.close()
            b.close()
        }
        _ = try a.appendAndWait(delivery((0..<50).map(lead)))

        // Two dispatchers at once, each taking small batches and recording them sent.
        let claims = Claims()
        DispatchQueue.concurrentPerform(iterations: 2) { lane in
            let journal = lane == 0 ? a : b
            while let due = try? journal.due(for: .capi, nowMillis: .max, limit: 3), !due.isEmpty {
                claims.add(journal.options.node, due.map(\.conversionID))
                try? journal.record(
                    attempt: nil, changes: due.map { ($0.conversionID, .sent) },
                    destination: .capi)
            }
        }
        let byNode = claims.byNode
        let claimedByA = byNode["relay-a"] ?? []
        let claimedByB = byNode["relay-b"] ?? []
        #expect(Set(claimedByA).isDisjoint(with: claimedByB))
        #expect(claimedByA.count + claimedByB.count == 50, "each conversion is claimed once")
        #expect(try a.counters().capiSent == 50)
    }

    @Test func aClaimEndsWhenRecordedAndADeadRelaysClaimWhenItsLeaseRunsOut() throws {
        let (_, a, b) = try twoNodes(leaseSeconds: 1)
        defer {
            a.close()
            b.close()
        }
        _ = try a.appendAndWait(delivery((0..<4).map(lead)))

        let claimed = try a.due(for: .capi, nowMillis: .max, limit: 10)
        #expect(claimed.count == 4)
        #expect(try b.due(for: .capi, nowMillis: .max, limit: 10).isEmpty)
        // The holder's own unrecorded claims come back to it at its next pass.
        #expect(try a.due(for: .capi, nowMillis: .max, limit: 10).count == 4)

        // A retry ends the claim at once: the next try may go out from either relay.
        try a.record(
            attempt: nil,
            changes: [(claimed[0].conversionID, .retry(atMillis: 0, reason: "http 503"))],
            destination: .capi)
        try a.record(
            attempt: nil, changes: [(claimed[1].conversionID, .sent)], destination: .capi)
        #expect(
            try b.due(for: .capi, nowMillis: .max, limit: 10).map(\.conversionID)
                == [claimed[0].conversionID])
        try b.record(
            attempt: nil, changes: [(claimed[0].conversionID, .sent)], destination: .capi)

        // relay-a stops recording (it died): its two other claims wait out the lease, and
        // relay-b knows when that is.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(try b.nextDueMillis(for: .capi) ?? 0 > now)
        Thread.sleep(forTimeInterval: 1.2)
        let taken = try b.due(for: .capi, nowMillis: .max, limit: 10).map(\.conversionID)
        #expect(Set(taken) == Set(claimed[2...].map(\.conversionID)))
    }

    @Test func theTotalsEveryRelayKeepsAddUpToARecountOfTheDatabase() throws {
        let (url, a, b) = try twoNodes()
        defer {
            a.close()
            b.close()
        }
        _ = try a.appendAndWait(delivery((0..<6).map(lead)))
        _ = try b.appendAndWait(delivery((3..<9).map(lead)))
        // relay-b delivers what relay-a took in, and the pixel saw two of the events.
        let due = try b.due(for: .capi, nowMillis: .max, limit: 4)
        try b.record(
            attempt: nil, changes: due.map { ($0.conversionID, .sent) }, destination: .capi)
        try a.recordPixelEcho(eventID: "e1", eventName: "Lead", seenAtMillis: 1)
        try b.recordPixelEcho(eventID: "e7", eventName: "Lead", seenAtMillis: 2)

        let counters = try a.counters()
        let recount = try PostgresConnection(url: url).query(
            """
            SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM signals),
                (SELECT count(*) FROM signals WHERE outcome = 'dedupe_hit'),
                (SELECT count(*) FROM conversions WHERE capi_state = 'sent'),
                (SELECT count(*) FROM conversions WHERE capi_state = 'pending')
            """)
        #expect(
            recount == [
                [
                    "\(counters.deliveries)", "\(counters.received)", "\(counters.dedupeHits)",
                    "\(counters.capiSent)", "\(counters.capiPending)",
                ]
            ])
        #expect(counters.received == 12 && counters.dedupeHits == 3 && counters.capiSent == 4)
        #expect(counters.pixelEchoes == 2 && counters.pixelMatched == 2)
        #expect(try b.counters() == counters)
    }

    @Test func aRelayThatStopsCleanlyHandsItsClaimsBackAtOnce() throws {
        let (_, a, b) = try twoNodes(leaseSeconds: 600)
        defer { b.close() }
        _ = try a.appendAndWait(delivery((0..<3).map(lead)))
        let claimed = try a.due(for: .capi, nowMillis: .max, limit: 10)
        #expect(claimed.count == 3)
        #expect(try b.due(for: .capi, nowMillis: .max, limit: 10).isEmpty)

        a.close()
        #expect(
            Set(try b.due(for: .capi, nowMillis: .max, limit: 10).map(\.conversionID))
                == Set(claimed.map(\.conversionID)))
    }

    /// A destination starts a request on a claim only when the request can end within the
    /// lease; a journal of one relay's own has no lease to run out.
    @Test func aClaimHoldsOnlyForARequestThatCanEndWithinTheLease() throws {
        let (_, a, b) = try twoNodes(leaseSeconds: 10)
        defer {
            a.close()
            b.close()
        }
        let shared: any Journal = a
        #expect(shared.claimLifetimeSeconds == 10)
        #expect(shared.claimHolds(since: 0, now: 4_000, forRequestOf: 5))
        #expect(!shared.claimHolds(since: 0, now: 5_000, forRequestOf: 5))
        let alone = try TemporaryJournal(.sqlite)
        #expect(alone.journal.claimHolds(since: 0, now: 86_400_000, forRequestOf: 5))
    }

    /// Two live relays under one name would each take the other's claims for their own.
    @Test func aSecondLiveRelayUnderTheSameNodeNameIsRefusedAndTheNameIsFreeOnceItStops()
        throws
    {
        let (url, a, b) = try twoNodes()
        defer { b.close() }
        let started = Date()
        do {
            _ = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "relay-a"))
            Issue.record("a second relay-a must be refused while the first runs")
        } catch {
            #expect(error.code == .incompatible)
            #expect(error.message.contains("another relay is running as node relay-a"))
            #expect(!error.message.contains("password"))
        }
        #expect(
            Date().timeIntervalSince(started) >= 4, "it waits for a restarted relay's old session")

        a.close()
        let again = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "relay-a"))
        again.close()
    }

    /// A relay whose connections dropped, and whose name another relay took meanwhile, takes
    /// no delivery work until the name is free again: both would count those claims as theirs.
    @Test func aRelayThatLostItsNodeNameToAnotherClaimsNothingUntilItIsFree() throws {
        let url = try PostgresTestServer.freshDatabase()
        let a = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "relay-a"))
        defer { a.close() }
        _ = try a.appendAndWait(delivery([lead(1)]))

        // The server drops relay-a's sessions, as a failover or a restart of it would.
        let admin = try PostgresConnection(url: url)
        defer { admin.close() }
        try admin.query(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """)
        let b = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "relay-a"))

        #expect(throws: JournalError.self) { try a.due(for: .capi, nowMillis: .max, limit: 10) }
        #expect(try a.due(for: .capi, nowMillis: .max, limit: 10).isEmpty)
        let problem = a.probeWritable(timeoutSeconds: 2)
        #expect(problem?.message.contains("another relay holds node name relay-a") == true)

        // Free once b's session has ended on the server, a moment after it closes.
        b.close()
        #expect(
            try eventually(timeout: 10) {
                try a.due(for: .capi, nowMillis: .max, limit: 10).count == 1
            })
    }

    @Test func aJournalFromANewerVersionIsRefusedWithWhatToDo() throws {
        let url = try PostgresTestServer.freshDatabase()
        PostgresJournal.closeAfterOpening(url)
        let connection = try PostgresConnection(url: url)
        try connection.query("UPDATE schema_version SET version = 99")

        do {
            _ = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "n"))
            Issue.record("a newer journal must be refused")
        } catch {
            #expect(error.code == .incompatible)
            #expect(error.message.contains("schema version 99"))
            #expect(error.message.contains("run the newer capi-relay"))
        }
    }

    @Test func reopeningKeepsEverythingAndStartingTwiceMigratesOnce() throws {
        let url = try PostgresTestServer.freshDatabase()
        // Two relays starting together both find an empty database.
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            PostgresJournal.closeAfterOpening(url)
        }
        let first = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "a"))
        _ = try first.appendAndWait(delivery([lead(1)]))
        first.close()

        let reopened = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "a"))
        defer { reopened.close() }
        guard case .dedupeHit = try reopened.appendAndWait(delivery([lead(1)])).results[0] else {
            Issue.record("dedupe must survive a restart")
            return
        }
        let versions = try PostgresConnection(url: url).query("SELECT version FROM schema_version")
        #expect(versions == [["\(PostgresSchema.latestVersion)"]])
    }

    @Test func oneFailingAppendDoesNotPoisonTheOnesAfterIt() throws {
        let url = try PostgresTestServer.freshDatabase()
        let journal = try PostgresJournal(url: url, options: PostgresJournalOptions(node: "a"))
        defer { journal.close() }
        let other = try PostgresConnection(url: url)
        try other.execute(
            """
            CREATE FUNCTION refuse() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse();
            """)
        #expect(throws: JournalError.self) { try journal.appendAndWait(delivery([lead(1)])) }

        try other.execute("DROP TRIGGER refuse ON deliveries")
        #expect(try journal.appendAndWait(delivery([lead(1)])).results.count == 1)
    }
}

extension PostgresJournal {
    /// Opens (migrating) and closes at once, as a relay that starts and stops.
    static func closeAfterOpening(_ url: String) {
        (try? PostgresJournal(url: url, options: PostgresJournalOptions(node: "setup")))?.close()
    }
}

/// Append results by webhook index, from the writer threads.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var byIndex: [Int: [Result<AppendReceipt, JournalError>]] = [:]

    func add(_ index: Int, _ result: Result<AppendReceipt, JournalError>) {
        lock.withLock { byIndex[index, default: []].append(result) }
    }

    var failures: Int {
        lock.withLock {
            byIndex.values.joined().filter {
                if case .failure = $0 { return true }
                return false
            }.count
        }
    }

    func outcomes(of index: Int) -> (conversions: Int, dedupeHits: Int) {
        lock.withLock {
            let results = (byIndex[index] ?? []).compactMap { try? $0.get().results.first }
            return (
                results.filter { if case .conversion = $0 { true } else { false } }.count,
                results.filter { if case .dedupeHit = $0 { true } else { false } }.count
            )
        }
    }
}

/// Conversion ids claimed per relay, from concurrent claimers.
final class Claims: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed: [String: [Int64]] = [:]

    func add(_ node: String, _ ids: [Int64]) { lock.withLock { claimed[node, default: []] += ids } }
    var byNode: [String: [Int64]] { lock.withLock { claimed } }
}
