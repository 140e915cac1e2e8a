import Foundation
import RelayCore
import RelayDelivery
import RelayJournal
import RelaySandbox
import Synchronization

/// How `capi-relay demo` runs.
public struct DemoOptions: Sendable {
    /// Stop after this many funnel steps (messaging items, redeliveries not counted); nil runs
    /// until interrupted.
    public var events: Int?
    public var seed: UInt64
    /// Concurrent webhook senders, so that requests share journal commits as in production.
    public var senders: Int = 4
    /// The share of webhook posts Meta "redelivers".
    public var redeliveryRate: Double = 0.1
    /// The share of posts that batch several entries.
    public var batchRate: Double = 0.25
    /// Keep the temporary journal and sandbox record instead of deleting them.
    public var keepFiles: Bool = false
    /// Where the journal, the sandbox record and any logs go: a directory from
    /// `Demo.makeDirectory()`; nil makes one. Deleted at the end unless `keepFiles`.
    public var directory: URL?
    /// Make the sandbox fail (`Demo.chaosFaults`), so that an operator can watch retries,
    /// bisection, dead letters and an outage with its recovery.
    public var chaos: Bool = false
    /// Whether output goes to a terminal (the live line is then redrawn in place).
    public var isTerminal: Bool
    /// Runs an interactive viewer on the relay's feed socket instead of the live line, and
    /// returns when the operator leaves it; the demo then stops and prints its totals. The
    /// executable passes the console here, which keeps curses out of this module.
    public var viewer: (@Sendable (_ feedSocketPath: String) -> Void)?

    public init(events: Int?, seed: UInt64, isTerminal: Bool) {
        self.events = events
        self.seed = seed
        self.isTerminal = isTerminal
    }
}

/// What a demo run added up to.
public struct DemoTotals: Sendable, Equatable {
    public var journal: JournalCounters
    /// Funnel steps played: unique messaging items, redeliveries not counted.
    public var steps: Int
    /// Webhook posts made, redeliveries included.
    public var posts: Int
    /// Messaging items in the posts the relay answered 200, redeliveries included: what the
    /// journal must have received.
    public var acceptedItems: Int
    /// Posts the relay did not answer 200.
    public var refusedPosts: Int
    /// What the sandbox's record file shows arrived, counted independently of the journal.
    public var sandbox: SandboxTally
    /// Events the operator re-sent from the console; each reaches the sandbox once more.
    public var resends: Int = 0

    /// received = the items of the accepted posts = conversions + non-conversions.
    public var receivedAddsUp: Bool {
        journal.received == acceptedItems
            && journal.received == journal.conversions + journal.notConversions
    }

    /// conversions = sent + dedupe hits + expired + failed (+ pending, when stopped early).
    public var conversionsAddUp: Bool {
        journal.conversions
            == journal.capiSent + journal.dedupeHits + journal.capiExpired + journal.capiFailed
            + journal.capiPending
    }

    /// What the sandbox received matches what the journal says was sent, each event once.
    public var deliveriesMatch: Bool {
        sandbox.uniqueEvents == journal.capiSent && sandbox.events == journal.capiSent + resends
            && sandbox.uniqueCRMPosts == journal.crmSent
            && sandbox.crmPosts <= journal.crmSent + resends
    }

    public var allAddUp: Bool { receivedAddsUp && conversionsAddUp && deliveriesMatch }
}

/// Counts from a sandbox record file.
public struct SandboxTally: Sendable, Equatable {
    /// CAPI events in accepted requests, and how many distinct event ids among them.
    public var events = 0
    public var uniqueEvents = 0
    /// Accepted CRM posts, and how many distinct event ids among them.
    public var crmPosts = 0
    public var uniqueCRMPosts = 0
    public var rejectedRequests = 0

    /// Reads every line of a record file.
    public init(recordFile path: String) {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        var eventIDs: Set<String> = []
        var crmIDs: Set<String> = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let record = try? JSONValue(parsing: Array(line)) else { continue }
            guard record["verdict"]?.stringValue == "accepted" else {
                rejectedRequests += 1
                continue
            }
            if record["kind"]?.stringValue == "crm" {
                crmPosts += 1
                if let id = record["body"]?["event_id"]?.stringValue { crmIDs.insert(id) }
            } else {
                for event in record["events"]?.arrayValue ?? [] {
                    events += 1
                    if let id = event["event_id"]?.stringValue { eventIDs.insert(id) }
                }
            }
        }
        uniqueEvents = eventIDs.count
        uniqueCRMPosts = crmIDs.count
    }
}

/// Why a demo could not run, in a sentence for the operator.
public struct DemoError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Set by SIGINT/SIGTERM while a demo runs; read by its loops.
let demoStopRequested = Atomic<Bool>(false)

/// The main job on embedded defaults: a sandbox standing in for Meta and the CRM, a relay on a
/// temporary journal, and a generator playing a Messenger funnel into it.
public enum Demo {
    public static func run(
        _ options: DemoOptions, logger: Logger, print: @escaping @Sendable (String) -> Void
    ) throws -> DemoTotals {
        // With a viewer, the console owns the terminal and its signals: quitting it stops the
        // demo. Without one, SIGINT and SIGTERM stop the funnel here.
        let stopSignals = options.viewer == nil ? installStopHandlers(print: print) : nil
        defer { stopSignals?.cancel() }

        let directory = try options.directory ?? makeDirectory()
        defer {
            if !options.keepFiles { try? FileManager.default.removeItem(at: directory) }
        }

        // Secrets exist only in this process: random, never printed, never on a command line.
        let crmSecret = Crypto.hex(Crypto.randomBytes(16))
        let secrets = RelaySecrets(
            appSecret: Crypto.hex(Crypto.randomBytes(16)),
            verifyToken: Crypto.hex(Crypto.randomBytes(8)),
            accessToken: "demo-" + Crypto.hex(Crypto.randomBytes(16)),
            crmSecret: crmSecret, eventsToken: Crypto.hex(Crypto.randomBytes(16)),
            ingestToken: Crypto.hex(Crypto.randomBytes(16)), crmEchoSecret: crmSecret)

        var sandboxConfiguration = SandboxConfiguration()
        sandboxConfiguration.recordPath = directory.appendingPathComponent("sandbox.jsonl").path
        sandboxConfiguration.expectedAccessToken = secrets.accessToken
        sandboxConfiguration.appSecret = secrets.appSecret
        sandboxConfiguration.crmSecret = secrets.crmSecret
        if options.chaos { sandboxConfiguration.faults = Demo.chaosFaults }
        let sandbox = Sandbox(configuration: sandboxConfiguration)
        try sandbox.start()
        defer { sandbox.stop() }

        var configuration = try RelayConfiguration.parse(
            Data(ExampleConfiguration.text.utf8), file: "embedded example")
        configuration.listen = "127.0.0.1:0"
        configuration.journal = directory.appendingPathComponent("journal.sqlite").path
        configuration.capi.graphURL = "http://127.0.0.1:\(sandbox.port)"
        configuration.capi.flushIntervalSeconds = 0.2
        configuration.crm?.url = "http://127.0.0.1:\(sandbox.port)\(sandboxConfiguration.crmPath)"
        configuration.crm?.flushIntervalSeconds = 0.2
        if options.chaos {
            // Short backoff, so that the recoveries happen while the operator watches.
            configuration.capi.backoffBaseSeconds = 0.5
            configuration.capi.backoffMaxSeconds = 4
            configuration.capi.maxAttempts = 30
            configuration.crm?.backoffBaseSeconds = 0.5
            configuration.crm?.backoffMaxSeconds = 4
            configuration.crm?.maxAttempts = 30
        }

        let relay = try Relay(configuration: configuration, secrets: secrets, logger: logger)
        try relay.start()
        print(
            "capi-relay demo: relay on 127.0.0.1:\(relay.port), sandbox (Graph API and CRM) on"
                + " 127.0.0.1:\(sandbox.port)")
        print("journal \(configuration.journal)" + (options.keepFiles ? "" : " (deleted at exit)"))
        let stopHint = options.viewer == nil ? "Ctrl-C" : "q in the console"
        print(
            options.events.map { "playing \($0) funnel steps; \(stopHint) stops early" }
                ?? "playing a Messenger funnel until \(stopHint)")

        // Play the funnel from several senders while a line of totals keeps the operator
        // informed.
        let player = FunnelPlayer(
            options: options, relayPort: relay.port, appSecret: secrets.appSecret)
        let done = DispatchGroup()
        for index in 0..<options.senders {
            done.enter()
            let sender = Thread {
                player.runSender(index)
                done.leave()
            }
            sender.name = "demo-sender-\(index)"
            sender.start()
        }

        var lastLine = ""
        if let viewer = options.viewer {
            // The viewer owns the terminal until the operator quits it; the funnel stops then.
            viewer(relay.feedPath)
            demoStopRequested.store(true, ordering: .relaxed)
            done.wait()
        } else {
            while done.wait(timeout: .now() + 0.5) == .timedOut {
                lastLine = liveLine(relay, options: options, print: print, previous: lastLine)
            }
        }

        // Let delivery finish: everything accepted is either sent, a dedupe hit, expired or
        // failed before the totals are read. A bounded wait: after Ctrl-C the operator wants
        // the prompt back, and what is left stays counted as pending.
        relay.flush()
        let drainSeconds = Demo.drainSeconds * (options.chaos ? 3 : 1)
        if options.viewer != nil {
            // The console has given the terminal back; say why the totals take a moment.
            Demo.write("finishing deliveries, up to \(Int(drainSeconds)) s…\n")
        }
        let deadline = Date().addingTimeInterval(drainSeconds)
        while Date() < deadline {
            let counters = try relay.journal.counters()
            if counters.capiPending == 0 && counters.crmPending == 0 { break }
            if options.viewer == nil {
                lastLine = liveLine(relay, options: options, print: print, previous: lastLine)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        if options.isTerminal && options.viewer == nil { Demo.write("\n") }

        let resends = relay.resendCount
        relay.stop()
        let journalCounters = try SQLiteJournal(path: configuration.journal).counters()
        return DemoTotals(
            journal: journalCounters, steps: player.steps, posts: player.posts,
            acceptedItems: player.acceptedItems, refusedPosts: player.refusedPosts,
            sandbox: SandboxTally(recordFile: sandboxConfiguration.recordPath ?? ""),
            resends: resends)
    }

    /// What `--chaos` makes the sandbox do: CAPI answers 5 % 503 (Graph code 2), 3 % throttling
    /// (code 17, Retry-After 1 s), 1 % code 1, and 1 % no answer for 2 s (past the 1.5 s
    /// timeout); about one event in 4,096 is rejected as invalid, so that now and then a batch
    /// is refused whole, Meta-style, and the relay must split it (rejecting more makes nearly
    /// every batch a bisection, which hides the other faults); CAPI is down from 10 s to 20 s
    /// after the start.
    /// The CRM fails 10 % of posts and is down from 25 s to 32 s.
    public static let chaosFaults = SandboxFaults(
        seed: 1,
        capi: SandboxFaults.Target(
            latencyMs: 30,
            errors: [
                .init(rate: 0.05, status: 503, code: 2),
                .init(rate: 0.03, status: 400, code: 17, retryAfterSeconds: 1),
                .init(rate: 0.01, status: 500, code: 1),
            ],
            timeoutRate: 0.01, timeoutMs: 2000, rejectEventIDs: #"^cr1\.000"#,
            outages: [.init(fromSeconds: 10, toSeconds: 20)]),
        crm: SandboxFaults.Target(
            errors: [.init(rate: 0.1, status: 503)],
            outages: [.init(fromSeconds: 25, toSeconds: 32, status: 503, code: nil)]))

    /// A new, empty directory of the demo's own under the temporary directory, readable only
    /// by this user. Never an existing one: a directory left by a killed run would otherwise
    /// lend its journal to this run's totals.
    public static func makeDirectory() throws -> URL {
        let parent = FileManager.default.temporaryDirectory.path
        var template = Array("\(parent)/capi-relay-demo-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw DemoError(
                "cannot make a directory under \(parent): \(String(cString: strerror(errno)))")
        }
        return URL(fileURLWithPath: String(cString: made), isDirectory: true)
    }

    /// How long the demo waits for pending deliveries at the end, in seconds.
    static let drainSeconds: Double = 15

    /// The totals as the demo prints them at the end.
    public static func report(_ totals: DemoTotals) -> String {
        let j = totals.journal
        let t = totals.sandbox
        func mark(_ ok: Bool) -> String { ok ? "adds up" : "DOES NOT ADD UP" }
        let pending = j.capiPending > 0 ? " + still pending \(j.capiPending)" : ""
        let matched =
            totals.resends == 0
            ? "matches the journal, each once"
            : "matches the journal: each once, plus \(totals.resends) re-sent by the operator"
        return """
            Totals
              funnel steps      \(totals.steps) messaging items, in \(totals.posts) webhook posts \
            (\(totals.refusedPosts) refused by the relay)
              accepted          \(totals.acceptedItems) messaging items in the posts answered 200, \
            redeliveries included
              received          \(j.received) = conversions \(j.conversions) + non-conversions \
            \(j.notConversions)   [\(mark(totals.receivedAddsUp))]
              conversions       \(j.conversions) = sent \(j.capiSent) + dedupe hits \(j.dedupeHits) \
            + expired \(j.capiExpired) + failed \(j.capiFailed)\(pending)   \
            [\(mark(totals.conversionsAddUp))]
              CRM               \(j.crmSent) sent, \(j.crmFailed) failed, \(j.crmPending) pending
              sandbox           \(t.events) events accepted (\(t.uniqueEvents) distinct), \
            \(t.crmPosts) CRM posts (\(t.uniqueCRMPosts) distinct), \(t.rejectedRequests) rejected
                                [\(totals.deliveriesMatch ? matched : "DOES NOT MATCH")]
            """
    }

    private static func liveLine(
        _ relay: Relay, options: DemoOptions, print: @Sendable (String) -> Void, previous: String
    ) -> String {
        guard let c = try? relay.journal.counters() else { return previous }
        let line =
            "received \(c.received)  conversions \(c.conversions)  dedupe hits \(c.dedupeHits)"
            + "  sent \(c.capiSent)  failed \(c.capiFailed)  expired \(c.capiExpired)"
            + "  pending \(c.capiPending)  crm \(c.crmSent)"
        guard line != previous else { return previous }
        // On a terminal the line is redrawn in place; in a log, each change is a new line.
        if options.isTerminal {
            Demo.write("\r\u{1B}[K" + line)
        } else {
            print(line)
        }
        return line
    }

    private static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    private static func installStopHandlers(print: @escaping @Sendable (String) -> Void)
        -> StopSignals
    {
        demoStopRequested.store(false, ordering: .relaxed)
        return StopSignals { _ in
            guard !demoStopRequested.exchange(true, ordering: .relaxed) else { return }
            print("\nstopping: no new webhooks; letting deliveries in flight finish")
        }
    }
}
