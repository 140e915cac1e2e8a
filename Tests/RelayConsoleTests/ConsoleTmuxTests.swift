import Foundation
import RelayTestSupport
import Testing

@testable import RelayConsole

/// The real binary in tmux at 100×30, fed by `FakeFeedServer`, asserted on what the operator
/// would see. Serialized: two cores, and each test owns a tmux server and a console process.
@Suite("Console in tmux", .serialized)
struct ConsoleTmuxTests {
    func start(
        _ extra: [String] = [], script: [String] = FeedFixtures.opening
    ) throws -> (FakeFeedServer, TmuxSession) {
        let server = try FakeFeedServer(
            path: FeedFixtures.socketPath(), script: script, respond: FeedFixtures.replies)
        let session = try TmuxSession(["--socket", server.path] + extra)
        try session.waitFor("fbtrace_id AfbTrace1")
        return (server, session)
    }

    @Test func flowUpdatesAsRecordsArrive() throws {
        let (server, session) = try start()
        defer { server.stop() }
        server.broadcast(FeedFixtures.dedupeHit)
        let screen = try session.waitFor("≡ dedupe hit")
        #expect(screen.contains("Lead cr1.lead0001 matched cr1.lead0001 rule guide-lead"))
        #expect(screen.contains("node relay-1 │ relay 0.1.0 │ connected"))
    }

    @Test func failuresPaneShowsARejectedDelivery() throws {
        let (server, session) = try start()
        defer { server.stop() }
        server.broadcast(FeedFixtures.purchaseFailed)
        let screen = try session.waitFor("Failures, newest first (1)")
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let title = lines.firstIndex { $0.contains("Failures, newest first") }!
        #expect(lines[title + 1].contains("✗ failed"))
        #expect(lines[title + 1].contains("cr1.buy00002 HTTP 400 code 100 subcode 2804003"))
    }

    @Test func inspectShowsTheOutboundJSON() throws {
        let (server, session) = try start()
        defer { server.stop() }
        try session.press("Enter")
        try session.waitFor("Inspect cr1.lead0001")
        #expect(server.waitForLine { $0 == "inspect cr1.lead0001" } != nil)
        try session.press("Tab", "Tab")
        let screen = try session.waitFor("[outbound]")
        #expect(screen.contains(#""action_source": "business_messaging","#))
        #expect(screen.contains(#""partner_agent": "capi-relay""#))
    }

    @Test func resendOfADeliveredEventConfirmsThenSendsTheConfirmFlag() throws {
        let (server, session) = try start()
        defer { server.stop() }
        try session.press("r")
        try session.waitFor("Re-send cr1.lead0001? It was ALREADY DELIVERED")
        #expect(server.received.allSatisfy { !$0.hasPrefix("resend") }, "nothing before yes")
        try session.press("y")
        #expect(server.waitForLine { $0.hasPrefix("resend") } == "resend cr1.lead0001 confirm")
        try session.waitFor("Re-send queued for cr1.lead0001.")
    }

    @Test func helpListsEveryBindingInTheTable() throws {
        let (server, session) = try start()
        defer { server.stop() }
        try session.press("?")
        let descriptions = BindingTable(readOnly: false).bindings.map(\.description)
        let screen =
            (try? session.waitUntil(timeout: 10, "the whole help") {
                $0.contains("Key bindings") && descriptions.allSatisfy($0.contains)
            }) ?? session.screen
        for description in descriptions {
            #expect(screen.contains(description), "help lacks '\(description)'")
        }
    }

    @Test func readOnlyHasNoResendAndItsKeySaysWhy() throws {
        let (server, session) = try start(["--read-only"])
        defer { server.stop() }
        let footer = session.screen.split(separator: "\n").last ?? ""
        #expect(!footer.contains("re-send"))
        #expect(footer.contains("read-only"))
        try session.press("r")
        try session.waitFor("Re-send is disabled: this console was started with --read-only.")
        try session.press("?")
        let help = try session.waitFor("Key bindings")
        #expect(!help.contains("Re-send the selected event"))
        #expect(server.received.allSatisfy { !$0.hasPrefix("resend") })
    }

    @Test func resizeRedrawsAndATooSmallWindowSaysTheSizeItNeeds() throws {
        let (server, session) = try start()
        defer { server.stop() }
        try session.resize(width: 60, height: 15)
        try session.waitFor("needs at least 80×20")
        try session.resize(width: 100, height: 30)
        let screen = try session.waitFor("Destinations")
        #expect(screen.contains("fbtrace_id AfbTrace1"))
    }

    @Test func quitLeavesTheTerminalSane() throws {
        let (server, session) = try start()
        defer { server.stop() }
        try session.press("q")
        let screen = try session.waitFor("stty-done")
        let settings = Set(screen.split(whereSeparator: \.isWhitespace).map(String.init))
        #expect(screen.contains("exit=0"))
        #expect(settings.contains("icanon") && settings.contains("echo"), "\(screen)")
        #expect(!settings.contains("-icanon") && !settings.contains("-echo"))
    }

    @Test func sigtermRestoresTheTerminalToo() throws {
        let (server, session) = try start()
        defer { server.stop() }
        kill(try session.consolePID(), SIGTERM)
        let screen = try session.waitFor("stty-done")
        let settings = Set(screen.split(whereSeparator: \.isWhitespace).map(String.init))
        #expect(screen.contains("exit=0"))
        #expect(settings.contains("icanon") && settings.contains("echo"))
    }

    @Test func aRelayThatGoesAwayShowsDisconnectedAndIsReconnected() throws {
        let (server, session) = try start()
        let path = server.path
        server.stop()
        try session.waitFor("disconnected — retrying")
        let again = try FakeFeedServer(
            path: path, script: FeedFixtures.opening + [FeedFixtures.dedupeHit],
            respond: FeedFixtures.replies)
        defer { again.stop() }
        let screen = try session.waitFor("≡ dedupe hit")
        #expect(screen.contains("│ connected"))
    }

    @Test func noColorStartsInMonochrome() throws {
        let server = try FakeFeedServer(
            path: FeedFixtures.socketPath(), script: FeedFixtures.opening)
        defer { server.stop() }
        let session = try TmuxSession(["--socket", server.path], environment: "NO_COLOR=1")
        try session.waitFor("theme monochrome")
    }
}
