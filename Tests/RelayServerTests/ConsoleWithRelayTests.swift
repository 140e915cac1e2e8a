import Foundation
import RelayTestSupport
import Testing

/// The console in tmux on a real relay's feed, with the real sandbox behind it: what an
/// operator watching a launch sees.
@Suite(.serialized) struct ConsoleWithRelayTests {
    static let leadEventID = MessengerPipelineTests.leadEventID

    @Test func theFlowShowsAWebhookAsItBecomesAConversionAndIsSent() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let console = try TmuxSession(["--socket", stack.feedPath])
        try console.waitFor("connected")

        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("quick-reply-lead.json")).status
                == 200)
        let screen = try console.waitFor("events_received 1 fbtrace_i")
        #expect(screen.contains("mapped       Lead \(Self.leadEventID) rule guide-lead"))
        #expect(screen.contains("✓ sent         capi \(Self.leadEventID) events_received 1"))
        // The Graph trace id runs past the edge of this 100-column window, and the cut shows.
        #expect(screen.contains("events_received 1 fbtrace_i…"))
    }

    @Test func aDeliveryTheSandboxRejectsShowsInTheFailuresPane() throws {
        // The sandbox rejects this one event as invalid (Graph code 100): a permanent error.
        let stack = try RelayStack()
        defer { stack.stop() }
        let pattern = Self.leadEventID.replacingOccurrences(of: ".", with: "\\\\.")
        try stack.setFaults(#"{"capi": {"reject_event_ids": "\#(pattern)"}}"#)
        let console = try TmuxSession(["--socket", stack.feedPath])
        try console.waitFor("connected")

        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("quick-reply-lead.json")).status
                == 200)
        // The failed attempt and the dead letter it leads to.
        let screen = try console.waitFor("Failures, newest first (2)")
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        let title = try #require(lines.firstIndex { $0.contains("Failures, newest first") })
        let failures = lines[(title + 1)...].prefix(2)
        #expect(failures.contains { $0.contains("✗ failed") && $0.contains("HTTP 400 code 100") })
        #expect(failures.contains { $0.contains("⊗ dead letter") && $0.contains(Self.leadEventID) })
    }

    @Test func aRefusedTokenShowsAsAPausedDestinationWithAnAlert() throws {
        // The sandbox accepts another token than the relay sends: Graph code 190.
        let stack = try RelayStack(sandboxAccessToken: "a-token-the-relay-does-not-have")
        defer { stack.stop() }
        let console = try TmuxSession(["--socket", stack.feedPath])
        try console.waitFor("connected")

        #expect(
            try stack.postWebhook(try MessengerFixture.shifted("quick-reply-lead.json")).status
                == 200)
        let screen = try console.waitFor("‖ paused")
        #expect(screen.contains("ALERT fix, then SIGHUP"))
        #expect(screen.contains("PAUSED"), "the paused record is in the failures pane")
        #expect(!screen.contains("⊗ dead letter"), "a pause dead-letters nothing")
    }

    @Test func resendFromTheConsoleReachesTheSandboxAgainWithTheSameEventID() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let console = try TmuxSession(["--socket", stack.feedPath])
        try console.waitFor("connected")
        // Find the Lead among the snapshot's records, then re-send it.
        try console.press("/")
        try console.press(Self.leadEventID, "Enter")
        try console.waitFor("mapped       Lead \(Self.leadEventID)")
        try console.press("r")
        try console.waitFor("Re-send \(Self.leadEventID)?")
        try console.press("y")
        try console.waitFor("Re-send queued for \(Self.leadEventID).")

        #expect(try eventually { try stack.acceptedEvents().count == 2 })
        let ids = try stack.acceptedEvents().compactMap { $0["event_id"] as? String }
        #expect(ids == [Self.leadEventID, Self.leadEventID])
    }

    @Test func inspectShowsTheOutboundJSONTheSandboxReceived() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let console = try TmuxSession(["--socket", stack.feedPath], height: 40)
        try console.waitFor("connected")
        try console.press("/")
        try console.press(Self.leadEventID, "Enter")
        try console.waitFor("mapped       Lead \(Self.leadEventID)")
        try console.press("Enter")
        try console.waitFor("Inspect \(Self.leadEventID)")
        try console.press("Tab", "Tab")
        let screen = try console.waitFor("[outbound]")
        #expect(screen.contains(#""page_scoped_user_id": "7310000000000001""#))
        #expect(screen.contains(#""messaging_channel": "messenger""#))
    }
}

@Suite struct DemoConsoleTests {
    @Test func theDemoOpensTheConsoleInATerminalAndPrintsTotalsWhenItIsQuit() throws {
        let session = try TmuxSession.command(["demo"], width: 110, height: 32)
        try session.waitFor("capi-relay console")
        try session.waitFor("✓ sent")
        try session.press("q")
        let screen = try session.waitFor("exit=0", timeout: 40)
        #expect(screen.contains("[matches the journal, each once]"))
        #expect(screen.components(separatedBy: "[adds up]").count == 3)
    }
}
