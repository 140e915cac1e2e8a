import Foundation
import RelayCore
import RelayJournal

/// End-to-end ingest: signed, unique Messenger webhooks over loopback HTTP with keep-alive into
/// `capi-relay serve`, journaling to SQLite and delivering to the sandbox, next to the same
/// load against a static HTTP server (nginx returning 200) on the same machine.
struct IngestBenchmark {
    var relayBinary: String
    var events: Int
    var connections: Int
    var offeredRate: Double
    var nginx: String?
    /// A PostgreSQL server the benchmark may create (and drop) databases on, for the shared
    /// journal's figures with one relay and with two; nil leaves them out.
    var postgres: String?

    static let appSecret = "bench-app-secret"
    static let pageID = "104857600000001"

    func run() throws {
        let stack = try BenchStack(relayBinary: relayBinary)
        defer { stack.stop() }
        print(
            "ingest  \(events) webhooks per run, \(connections) connections, journal SQLite "
                + "(synchronous=FULL), destination the sandbox")
        print(
            "  start-up to first accepted webhook  \(String(format: "%.1f", stack.startupMillis)) ms"
        )

        // Warm up, so the first run does not pay for page faults and JIT-free cold caches.
        _ = LoadGenerator(port: stack.relayPort, connections: connections, offeredRate: nil)
            .run(Self.webhooks(count: 2_000, seed: 1))

        let fixed = LoadGenerator(
            port: stack.relayPort, connections: connections, offeredRate: offeredRate
        ).run(Self.webhooks(count: min(events, Int(offeredRate * 10)), seed: 2))
        print("  offered \(Int(offeredRate))/s    \(fixed.summary)")

        // Saturation without and with a feed client, taking turns, so that neither gets the
        // quieter moments of a noisy machine or the smaller journal: each run adds `events`
        // conversions. The medians are the figures; serve's CPU per webhook is the steadier
        // measure of what the feed costs.
        print("  saturation, without and with a feed client reading every record, in turns:")
        var without: [Run] = []
        var with: [Run] = []
        for round in 0..<Self.rounds {
            without.append(try measure(stack, seed: 30 + 2 * round, feed: false))
            print("    without feed     \(without[round].line)")
            with.append(try measure(stack, seed: 31 + 2 * round, feed: true))
            print("    with feed        \(with[round].line)")
        }
        let saturated = Run.median(without)
        let attached = Run.median(with)
        print("  saturation        \(saturated.line)  (median of \(Self.rounds))")
        print("  with a feed client\(attached.line)  (median of \(Self.rounds))")
        print(
            String(
                format:
                    "    feed delivered %.0f records/s to the client; ingest %.1f%% of the rate "
                    + "without; serve's CPU per webhook %+.1f%%",
                attached.feedRecordsPerSecond ?? 0,
                100 * attached.report.rate / saturated.report.rate,
                100 * (attached.cpuMicrosPerWebhook / saturated.cpuMicrosPerWebhook - 1)))
        // At a fixed rate below saturation the relay does the same work per webhook with and
        // without the feed (the same batch sizes, the same wake-ups), so what serve's CPU per
        // webhook gains is what the feed costs.
        let feedRate = offeredRate / 2
        let feedCount = min(events, Int(feedRate * 5))
        var calm: [Run] = []
        var watched: [Run] = []
        for round in 0..<Self.rounds {
            calm.append(
                try measure(
                    stack, seed: 50 + 2 * round, feed: false, count: feedCount, rate: feedRate))
            watched.append(
                try measure(
                    stack, seed: 51 + 2 * round, feed: true, count: feedCount, rate: feedRate))
        }
        let calmCPU = Run.median(calm).cpuMicrosPerWebhook
        let watchedCPU = Run.median(watched).cpuMicrosPerWebhook
        print(
            String(
                format:
                    "  at %.0f/s offered, in turns: serve CPU %.0f µs/webhook without the feed, "
                    + "%.0f with it (%+.1f%%; medians of %d)",
                feedRate, calmCPU, watchedCPU, 100 * (watchedCPU / calmCPU - 1), Self.rounds))

        if let rss = stack.relay.peakRSSMiB() {
            print(String(format: "  peak RSS of serve  %.1f MiB", rss))
        }

        if let postgres {
            try runShared(on: postgres, sqlite: saturated.report)
        } else {
            print(
                "  postgres          skipped (pass --postgres URL of a server to create databases on)"
            )
        }

        // The ceiling: a static server on the same machine, the same requests.
        guard let nginx else {
            print("  static ceiling    skipped (pass --nginx PATH; apt-get install nginx-light)")
            return
        }
        let server = try StaticServer(nginx: nginx)
        defer { server.stop() }
        _ = LoadGenerator(port: server.port, connections: connections, offeredRate: nil)
            .run(Self.webhooks(count: 2_000, seed: 5))
        let ceiling = LoadGenerator(port: server.port, connections: connections, offeredRate: nil)
            .run(Self.webhooks(count: events, seed: 3))
        print("  nginx ceiling     \(ceiling.summary)")
        print(
            String(
                format: "    relay at %.0f%% of the ceiling",
                100 * saturated.report.rate / ceiling.rate))
    }

    /// Saturation runs without and with a feed client, each.
    static let rounds = 3

    /// One run of `count` webhooks (`events` when nil), at saturation or at `rate`, with
    /// serve's CPU time over it and, with `feed`, a feed client reading every record meanwhile.
    func measure(
        _ stack: BenchStack, seed: Int, feed: Bool, count: Int? = nil, rate: Double? = nil
    ) throws -> Run {
        let requests = Self.webhooks(count: count ?? events, seed: seed)
        let reader = feed ? try FeedReader(path: stack.feedPath) : nil
        let cpuBefore = stack.relay.cpuSeconds() ?? 0
        let report = LoadGenerator(
            port: stack.relayPort, connections: connections, offeredRate: rate
        )
        .run(requests)
        let cpu = (stack.relay.cpuSeconds() ?? 0) - cpuBefore
        let records = reader?.stop()
        return Run(
            report: report,
            cpuMicrosPerWebhook: cpu * 1e6 / Double(max(report.succeeded, 1)),
            feedRecordsPerSecond: records.map { Double($0.records) / $0.seconds })
    }

    struct Run {
        var report: LoadGenerator.Report
        /// serve's user and system CPU time over the run, per webhook answered 200.
        var cpuMicrosPerWebhook: Double
        /// With a feed client: the records per second it read.
        var feedRecordsPerSecond: Double?

        var line: String {
            report.summary + String(format: "  serve CPU %.0f µs/webhook", cpuMicrosPerWebhook)
        }

        /// The run with the median rate, and the median CPU per webhook of all of them.
        static func median(_ runs: [Run]) -> Run {
            var middle = runs.sorted { $0.report.rate < $1.report.rate }[runs.count / 2]
            middle.cpuMicrosPerWebhook =
                runs.map(\.cpuMicrosPerWebhook).sorted()[runs.count / 2]
            let feeds = runs.compactMap(\.feedRecordsPerSecond).sorted()
            if !feeds.isEmpty { middle.feedRecordsPerSecond = feeds[feeds.count / 2] }
            return middle
        }
    }

    /// Saturation with the journal on PostgreSQL, one relay and then two behind a round-robin
    /// of the connections, each on a database of its own, beside the SQLite figure.
    func runShared(on server: String, sqlite: LoadGenerator.Report) throws {
        print("  journal PostgreSQL \(PostgresConnection.redacted(server)), saturation:")
        print("    SQLite, 1 relay     \(sqlite.summary)")
        for count in [1, 2] {
            let database = try ScratchDatabase(server: server)
            defer { database.drop() }
            let stack = try BenchStack(
                relayBinary: relayBinary, journal: database.url, relays: count)
            defer { stack.stop() }
            _ = LoadGenerator(ports: stack.relayPorts, connections: connections, offeredRate: nil)
                .run(Self.webhooks(count: 2_000, seed: 10 + count))
            let saturated = LoadGenerator(
                ports: stack.relayPorts, connections: connections, offeredRate: nil
            ).run(Self.webhooks(count: events, seed: 20 + count))
            print("    PostgreSQL, \(count) relay\(count == 1 ? " " : "s")\(saturated.summary)")
        }
    }

    /// `count` signed webhooks, each a postback from a different person, as whole HTTP requests.
    static func webhooks(count: Int, seed: Int) -> [[UInt8]] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return (0..<count).map { index in
            let sender = 7_300_000_000_000_000 + seed * 10_000_000 + index
            let item =
                #"{"sender":{"id":"\#(sender)"},"recipient":{"id":"\#(pageID)"},"#
                + #""timestamp":\#(now),"postback":{"mid":"m_bench-\#(seed)-\#(index)","#
                + #""title":"Book a call","payload":"BOOK_CALL"}}"#
            let body =
                Array(
                    #"{"object":"page","entry":[{"id":"\#(pageID)","time":\#(now),"messaging":["#
                        .utf8) + Array(item.utf8) + Array("]}]}".utf8)
            let signature = Crypto.hmacSHA256Hex(key: Array(appSecret.utf8), message: body)
            let head =
                "POST /webhooks/messenger HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/json\r\nX-Hub-Signature-256: sha256=\(signature)\r\n"
                + "Content-Length: \(body.count)\r\n\r\n"
            return Array(head.utf8) + body
        }
    }
}

/// The sandbox and one or more `capi-relay serve` as child processes, with configs in a
/// temporary directory: the same shape an operator staging against the sandbox runs.
final class BenchStack {
    let directory: URL
    let sandbox: ChildProcess
    /// One per relay, in the order started.
    private(set) var relays: [ChildProcess] = []
    private(set) var relayPorts: [UInt16] = []
    /// Launch to the first webhook answered 200 by the first relay, in milliseconds.
    private(set) var startupMillis: Double = 0
    let relayBinary: String

    static let accessToken = "bench-access-token"

    var relay: ChildProcess { relays[0] }
    var relayPort: UInt16 { relayPorts[0] }
    var feedPath: String { feedPath(0) }
    /// The SQLite journal, when no PostgreSQL URL was given.
    var journalPath: String { directory.appendingPathComponent("journal.sqlite").path }
    func configPath(_ index: Int) -> String {
        directory.appendingPathComponent("capi-relay-\(index).json").path
    }
    func feedPath(_ index: Int) -> String {
        directory.appendingPathComponent("capi-relay-\(index).sock").path
    }

    let environment = [
        "CAPI_RELAY_APP_SECRET": IngestBenchmark.appSecret,
        "CAPI_RELAY_VERIFY_TOKEN": "bench-verify-token",
        "CAPI_RELAY_ACCESS_TOKEN": BenchStack.accessToken,
    ]

    /// - Parameters:
    ///   - journal: a PostgreSQL URL all relays share; nil for a SQLite file (one relay).
    ///   - relays: how many relays to start on the journal.
    init(relayBinary: String, journal: String? = nil, relays count: Int = 1) throws {
        self.relayBinary = relayBinary
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        sandbox = try ChildProcess(
            relayBinary,
            [
                "sandbox", "--listen", "127.0.0.1:0", "--record",
                directory.appendingPathComponent("sandbox.jsonl").path,
            ],
            environment: environment)
        let sandboxPort = try sandbox.waitForPort("sandbox listening")

        let journal = journal ?? journalPath
        for index in 0..<count {
            let config = """
                // Written by capi-relay-bench.
                {
                  "listen": "127.0.0.1:0",
                  "journal": "\(journal)",
                  "node": "bench-\(index + 1)",
                  "feed": { "socket": "\(feedPath(index))" },
                  "pages": [{ "page_id": "\(IngestBenchmark.pageID)", "dataset": "880000000000001" }],
                  "capi": { "graph_url": "http://127.0.0.1:\(sandboxPort)", "timeout_seconds": 5 },
                  "rules": [{ "name": "book-call", "when": { "postback": "BOOK_CALL" }, "event": "Schedule" }]
                }
                """
            try config.write(toFile: configPath(index), atomically: true, encoding: .utf8)
            try startRelay(index)
        }
    }

    /// Starts the first relay again, after it was stopped.
    func startRelay() throws { try startRelay(0) }

    /// Starts relay `index` (again, when it ran before) and times it to its first accepted
    /// webhook.
    func startRelay(_ index: Int) throws {
        let relay = try ChildProcess(
            relayBinary, ["serve", "--config", configPath(index)], environment: environment)
        let port = try relay.waitForPort("relay listening")
        let probe = IngestBenchmark.webhooks(
            count: 1, seed: Int(relay.launchedAt % 1_000_000) + 900)
        while true {
            let report = LoadGenerator(port: port, connections: 1, offeredRate: nil).run(probe)
            if report.succeeded == 1 { break }
            guard relay.process.isRunning else {
                throw BenchmarkError("serve exited:\n\(relay.stderr)")
            }
        }
        if index == 0 {
            startupMillis = Double(DispatchTime.now().uptimeNanoseconds - relay.launchedAt) / 1e6
        }
        if index < relays.count {
            relays[index] = relay
            relayPorts[index] = port
        } else {
            relays.append(relay)
            relayPorts.append(port)
        }
    }

    func stop() {
        relays.forEach { $0.stop() }
        sandbox.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// An empty database on a PostgreSQL server, dropped after the run.
struct ScratchDatabase {
    let server: String
    let name = "capi_relay_bench_\(UUID().uuidString.prefix(8).lowercased())"

    init(server: String) throws {
        self.server = server
        try PostgresConnection(url: server).query("CREATE DATABASE \(name)")
    }

    /// The server's URL with this database in place of the one it names.
    var url: String {
        guard var components = URLComponents(string: server) else { return server }
        components.path = "/" + name
        return components.string ?? server
    }

    func drop() {
        _ = try? PostgresConnection(url: server).query("DROP DATABASE \(name) WITH (FORCE)")
    }
}

/// nginx answering 200 to everything, on a loopback port, one worker: the static ceiling.
final class StaticServer {
    let process: ChildProcess
    let port: UInt16
    let directory: URL

    init(nginx: String) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-bench-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        port = UInt16.random(in: 20_000...40_000)
        let config = """
            worker_processes 1;
            daemon off;
            pid \(directory.path)/nginx.pid;
            error_log stderr notice;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path \(directory.path);
              keepalive_requests 10000000;
              server {
                listen 127.0.0.1:\(port);
                location / { return 200 "ok"; }
              }
            }
            """
        let path = directory.appendingPathComponent("nginx.conf").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        process = try ChildProcess(nginx, ["-c", path, "-p", directory.path, "-e", "stderr"])
        try process.waitForLog("start worker process")
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A feed client that reads every line the relay sends, counting them, as a console would.
final class FeedReader: @unchecked Sendable {
    private let socket: Int32
    private let lock = NSLock()
    private var records = 0  // guarded by lock
    private var stopped = false  // guarded by lock
    private let done = DispatchSemaphore(value: 0)
    private let start = DispatchTime.now().uptimeNanoseconds

    init(path: String) throws {
        socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(socket)
            throw BenchmarkError("cannot connect to the feed at \(path): errno \(errno)")
        }
        let thread = Thread { [self] in readAll() }
        thread.start()
    }

    private func readAll() {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            let lines = buffer[0..<count].reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            let stop = lock.withLock {
                records += lines
                return stopped
            }
            if stop { break }
        }
        done.signal()
    }

    /// Stops reading; returns the lines read and the seconds it read for.
    func stop() -> (records: Int, seconds: Double) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.withLock { stopped = true }
        shutdown(socket, Int32(SHUT_RDWR))
        done.wait()
        close(socket)
        return (lock.withLock { records }, seconds)
    }
}
