import Foundation
import RelayJournal
import RelayTestSupport
import Testing

/// SIGHUP on a running relay while webhooks keep arriving: new rules take effect live, a broken
/// config is refused with the check's own messages, and no request in flight is dropped.
@Suite(.serialized) struct LiveReloadTests {
    /// Posts unique leads from a thread of its own until stopped, and counts the answers.
    final class SteadyPoster: @unchecked Sendable {
        private let lock = NSLock()
        /// Guarded by `lock`.
        private(set) var statuses: [Int: Int] = [:]
        /// Guarded by `lock`.
        private var stopping = false
        private let done = DispatchSemaphore(value: 0)

        init(_ stack: RelayStack) {
            Thread.detachNewThread { [self] in
                var index = 0
                while !lock.withLock({ stopping }) {
                    let status =
                        (try? stack.postWebhook(LeadLoad.webhook(index..<index + 1, tag: "steady")))?
                        .status ?? -1
                    lock.withLock { statuses[status, default: 0] += 1 }
                    index += 1
                    Thread.sleep(forTimeInterval: 0.01)
                }
                done.signal()
            }
        }

        /// Stops and returns the answers: status → count (-1 for no answer at all).
        func stop() -> [Int: Int] {
            lock.withLock { stopping = true }
            done.wait()
            return lock.withLock { statuses }
        }
    }

    /// The fixture postback with another payload and message id.
    static func postback(_ payload: String, mid: String) throws -> [UInt8] {
        let text = String(
            decoding: try MessengerFixture.shifted("postback-book-call.json"), as: UTF8.self
        )
        .replacingOccurrences(of: "BOOK_CALL", with: payload)
        .replacingOccurrences(of: "m_AbCdEf0002-pb", with: mid)
        return Array(text.utf8)
    }

    static func journaledEventNames(_ stack: RelayStack) throws -> [String] {
        try JournalReader(path: stack.journalPath).conversions().map(\.eventName)
    }

    @Test func aNewRuleTakesEffectLiveAndABrokenConfigIsRefusedWhileWebhooksKeepFlowing() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let original = try String(contentsOfFile: stack.configPath, encoding: .utf8)

        // Before: no rule knows DEMO_REQUEST.
        #expect(
            try stack.postWebhook(try Self.postback("DEMO_REQUEST", mid: "m_demo-1")).status == 200)

        // A new rule, reloaded while leads arrive every 10 ms.
        let poster = SteadyPoster(stack)
        Thread.sleep(forTimeInterval: 0.3)
        let withRule = original.replacingOccurrences(
            of: #""rules": ["#,
            with: #""rules": [ { "name": "demo-request", "when": { "postback": "DEMO_REQUEST" },"#
                + #" "event": "RequestDemo" },"#)
        try withRule.write(toFile: stack.configPath, atomically: true, encoding: .utf8)
        stack.relay.kill(SIGHUP)
        #expect(
            eventually { stack.relay.stderr.contains("msg=\"config reloaded\" changed=rules ") },
            "relay stderr:\n\(stack.relay.stderr)")
        #expect(
            try stack.postWebhook(try Self.postback("DEMO_REQUEST", mid: "m_demo-2")).status == 200)
        // The feed's hello, which the console shows, lists the rules in force.
        let hello = try FeedTestClient(path: stack.feedPath).next()
        #expect(hello["config"]?["rules"]?.arrayValue?.first == "demo-request")

        // Then a broken config: refused, logged as config check would print it.
        let broken = withRule.replacingOccurrences(
            of: #""flush_interval_seconds": 0.1,"#, with: #""flush_intervall_seconds": 0.1,"#)
        #expect(broken != withRule)
        try broken.write(toFile: stack.configPath, atomically: true, encoding: .utf8)
        stack.relay.kill(SIGHUP)
        #expect(
            eventually {
                stack.relay.stderr.contains(
                    "msg=\"config reload refused; the running config stays\"")
            })
        let line = try #require(
            stack.relay.stderr.split(separator: "\n").first {
                $0.contains("msg=\"config problem\"")
            })
        #expect(
            line.hasSuffix(
                #" level=error msg="config problem" problem="\#(stack.configPath):13:"#
                    + #" capi.flush_intervall_seconds: unknown key; did you mean 'flush_interval_seconds'?""#
            ),
            "\(line)")
        Thread.sleep(forTimeInterval: 0.3)

        // The running config stays: the new rule still maps, the relay is ready.
        #expect(
            try stack.postWebhook(try Self.postback("DEMO_REQUEST", mid: "m_demo-3")).status == 200)
        #expect(try RawHTTP.get(port: stack.relayPort, "/readyz").status == 200)
        let statuses = poster.stop()
        #expect(
            Set(statuses.keys) == [200],
            "every webhook during both reloads was accepted: \(statuses)")
        let leads = statuses[200] ?? 0
        #expect(leads > 20, "the poster ran through both reloads")

        // Each lead journaled once and delivered; the demo request counted twice, not before.
        #expect(
            try eventually(timeout: 30) { try stack.counters().capiSent == leads + 2 },
            "relay stderr:\n\(stack.relay.stderr.suffix(2000))")
        let names = try Self.journaledEventNames(stack)
        #expect(names.filter { $0 == "RequestDemo" }.count == 2)
        #expect(names.filter { $0 == "Lead" }.count == leads)
        let scrape = try PrometheusScrape(try MetricsEndpointTests.scrape(stack))
        #expect(
            scrape.value(
                "capi_relay_conversions_total",
                ["source": "messenger", "event_name": "RequestDemo", "dataset": RelayStack.dataset])
                == 2, "the reloaded rule's event name is a known label")
        #expect(scrape.value("capi_relay_config_reloads_total", ["result": "applied"]) == 1)
        #expect(scrape.value("capi_relay_config_reloads_total", ["result": "refused"]) == 1)
    }

    @Test func aSIGHUPDuringTheStartNeverEndsTheRelayAndAnEarlyOneStillReloads() throws {
        // A supervisor may signal at any moment of the start (systemd's ExecReload). The
        // default action of SIGHUP ends a process, so serve must have it handled before the
        // relay listens; the kernel shows an ignored signal in /proc/PID/status.
        let stack = try RelayStack()
        defer { stack.stop() }
        stack.relay.kill(SIGTERM)
        #expect(try stack.relay.waitForExit() == 0)

        let relay = try TestProcess(
            ["serve", "--config", stack.configPath], environment: stack.environment)
        var handledBeforeListening = false
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let listening = relay.stderr.contains("relay listening")
            if Self.ignoresSIGHUP(relay.processIdentifier) {
                handledBeforeListening = !listening
                break
            }
            if listening { break }
            usleep(500)
        }
        #expect(handledBeforeListening, "SIGHUP was left to its default action until listening")
        // Signals all through the start: none ends the relay.
        for _ in 0..<50 where !relay.stderr.contains("relay listening") {
            relay.kill(SIGHUP)
            usleep(2_000)
        }
        _ = try relay.waitForPort("relay listening")
        relay.kill(SIGHUP)
        #expect(eventually { relay.stderr.contains("msg=\"config reloaded\"") }, "\(relay.stderr)")
        relay.kill(SIGTERM)
        #expect(try relay.waitForExit() == 0, "\(relay.stderr)")
    }

    /// Whether the process ignores SIGHUP (signal 1, the lowest bit of SigIgn).
    private static func ignoresSIGHUP(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
            let mask = UInt64(
                line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & 1 != 0
    }

    @Test func aNewPageIsRoutedToItsDatasetAfterAReload() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let newPage = "104857600000003"
        let newDataset = "880000000000002"
        func lead(_ index: Int) -> [UInt8] {
            Array(
                String(decoding: LeadLoad.webhook(index..<index + 1, tag: "page"), as: UTF8.self)
                    .replacingOccurrences(of: LeadLoad.pageID, with: newPage).utf8)
        }

        // Unknown page: journaled, not a conversion.
        #expect(try stack.postWebhook(lead(0)).status == 200)
        let config = try String(contentsOfFile: stack.configPath, encoding: .utf8)
        try config.replacingOccurrences(
            of: #""pages": ["#,
            with: #""pages": [ { "page_id": "\#(newPage)", "dataset": "\#(newDataset)" },"#
        ).write(toFile: stack.configPath, atomically: true, encoding: .utf8)
        stack.relay.kill(SIGHUP)
        #expect(
            eventually { stack.relay.stderr.contains("msg=\"config reloaded\" changed=pages ") },
            "relay stderr:\n\(stack.relay.stderr)")

        #expect(try stack.postWebhook(lead(1)).status == 200)
        #expect(try eventually { try stack.counters().capiSent == 1 })
        let datasets = try stack.records().filter { $0["verdict"] as? String == "accepted" }
            .compactMap { $0["dataset"] as? String }
        #expect(datasets == [newDataset], "the lead went to the new page's dataset")
    }

    @Test func aSettingThatCannotChangeLiveSaysARestartIsNeeded() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let original = try String(contentsOfFile: stack.configPath, encoding: .utf8)
        try original.replacingOccurrences(of: #""history": 200"#, with: #""history": 300"#)
            .write(toFile: stack.configPath, atomically: true, encoding: .utf8)
        stack.relay.kill(SIGHUP)
        #expect(
            eventually {
                stack.relay.stderr.contains(
                    "level=warning msg=\"setting changed but needs a restart to take effect; the"
                        + " running value stays\" key=feed")
            }, "relay stderr:\n\(stack.relay.stderr)")
        #expect(
            stack.relay.stderr.contains("msg=\"config reloaded\" changed=none needs_restart=feed"))
    }
}
