import Foundation
import RelayCore
import Testing

@testable import RelayConsole

/// Screens at a fixed 100×30 compared with golden files in `Golden/`. To accept a deliberate
/// change, run with CAPI_RELAY_UPDATE_GOLDEN=1 and review the diff of the golden files.
@Suite("Rendering: state to screen lines, no terminal")
struct ConsoleRendererTests {
    static let noon = 1_796_299_200.0

    func render(_ state: ConsoleState, width: Int = 100, height: Int = 30) -> Screen {
        ConsoleRenderer(width: width, height: height, now: Self.noon, theme: BuiltinThemes.standard)
            .render(state)
    }

    func expectGolden(
        _ screen: Screen, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Golden/\(name).txt")
        if ProcessInfo.processInfo.environment["CAPI_RELAY_UPDATE_GOLDEN"] != nil {
            try screen.text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(
            screen.text == golden, "screen differs from Golden/\(name).txt",
            sourceLocation: sourceLocation)
    }

    var busyState: ConsoleState {
        var state = ConsoleState.fresh()
        state.feed(
            FeedFixtures.opening + [
                FeedFixtures.dedupeHit, FeedFixtures.purchaseFailed, FeedFixtures.consentDropped,
                FeedFixtures.stats(received: 3, sent: 1, failed: 1),
            ], now: Self.noon - 1)
        state.feed([FeedFixtures.stats(received: 5, sent: 2, failed: 1)], now: Self.noon)
        return state
    }

    @Test func dashboardShowsTotalsRatesHealthFlowAndFailures() throws {
        try expectGolden(render(busyState), "dashboard")
    }

    @Test func coverageShowsThePixelAndEachEventNamesMatchKeys() {
        var state = busyState
        state.stats.pixelCoverage = 0.625
        state.stats.matchKeys = [
            MatchKeyShare(
                eventName: "Lead", conversions: 8,
                carrying: ["page_scoped_user_id": 8, "em": 4, "ph": 1])
        ]
        let line = render(state, width: 120).lines[4]
        #expect(line.contains("Coverage   pixel 63%"))
        #expect(line.contains("Lead (8): psid 100% em 50% ph 13% ext 0% fbc 0% fbp 0%"))

        // A line too long for the screen ends in …, like every clipped line.
        state.stats.matchKeys.append(
            MatchKeyShare(eventName: "Purchase", conversions: 3, carrying: ["em": 3]))
        let clipped = render(state, width: 120).lines[4]
        #expect(clipped.count == 120)
        #expect(clipped.contains("Lead (8): psid 100%"))
        #expect(clipped.hasSuffix("…"), "\(clipped)")
    }

    @Test func aRefusedResendFitsTheStatusLineAt120Columns() {
        var state = ConsoleState.fresh()
        state.feed(
            [FeedFixtures.hello, FeedFixtures.snapshot(records: [FeedFixtures.mappedLead])],
            now: Self.noon)
        state.press(.resend, now: Self.noon)
        state.type("y", now: Self.noon)
        state.feed([FeedFixtures.alreadyQueued], now: Self.noon)
        let screen = render(state, width: 120)
        let status = screen.lines[screen.lines.count - 2]
        #expect(
            status.trimmingCharacters(in: .whitespaces)
                == "Re-send refused: still queued for CAPI — nothing to re-send yet"
                + " (cr1.lead0001)")
    }

    @Test func theHelpScreenSaysWhereTheWholeOfAMessageIs() {
        var state = ConsoleState.fresh()
        state.logPath = "/tmp/console.log"
        state.press(.help)
        let text = render(state).text
        #expect(text.contains("Status messages, in full, are in"))
        #expect(text.contains("   /tmp/console.log"))
    }

    @Test func freshConsoleSaysWhatEachEmptyPaneIsWaitingFor() throws {
        var state = ConsoleState.fresh()
        state.socketPath = "/run/capi-relay/feed.sock"
        let screen = render(state)
        #expect(screen.text.contains("No failed deliveries yet."))
        #expect(screen.text.contains("No records yet: not connected to the relay."))
        try expectGolden(screen, "empty-connecting")
    }

    @Test func theHeaderNamesTheRelayAndSaysWhenItsJournalIsShared() {
        var state = ConsoleState.fresh()
        let shared = FeedFixtures.hello.replacingOccurrences(
            of: #""node":"relay-1","#,
            with: #""node":"relay-2","journal":{"backend":"postgres","shared":true},"#)
        state.feed([shared, FeedFixtures.snapshot()], now: Self.noon)
        #expect(render(state).lines[0].contains("node relay-2 (shared journal)"))

        var alone = ConsoleState.fresh()
        alone.feed([FeedFixtures.hello, FeedFixtures.snapshot()], now: Self.noon)
        let header = render(alone).lines[0]
        #expect(header.contains("node relay-1") && !header.contains("shared journal"))
    }

    @Test func disconnectedHeaderCountsDownToTheRetry() {
        var state = busyState
        state.disconnected(reason: "the relay closed the feed", retryAt: Self.noon + 2)
        let lines = render(state).lines
        #expect(lines[0].contains("disconnected — retrying in 2 s"))
        #expect(lines[28].contains("Feed unavailable: the relay closed the feed"))
    }

    @Test func outcomesCarryAWordAndGlyphNotOnlyAColour() {
        let text = render(busyState).text
        for word in ["✓ sent", "≡ dedupe hit", "✗ failed", "⊘ consent drop", "↓ received"] {
            #expect(text.contains(word), "no '\(word)' on screen")
        }
    }

    @Test func anAttemptThatWillBeRetriedSaysRetryingNotFailed() {
        var state = ConsoleState.fresh()
        let retrying = FeedFixtures.purchaseFailed.replacingOccurrences(
            of: #""next_retry_at":null"#, with: #""next_retry_at":"2026-12-03T12:00:05.000Z""#)
        state.feed(FeedFixtures.opening + [retrying], now: Self.noon)
        let text = render(state).text
        #expect(text.contains("retrying     capi cr1.buy00002"))
        #expect(!text.contains("✗ failed     capi cr1.buy00002"))
    }

    @Test func textCutAtTheEdgeEndsInAnEllipsis() {
        var screen = Screen(width: 10, height: 1)
        screen.put("user 7310000000000001", row: 0, column: 0, role: .text)
        #expect(screen.lines == ["user 7310…"])
    }

    @Test func failedLinesUseTheFailedRole() {
        let screen = render(busyState)
        let row = screen.lines.firstIndex { $0.contains("✗ failed") }!
        let column = Array(screen.lines[row]).firstIndex(of: "✗")!
        #expect(screen.rows[row][column].role == .failed)
    }

    @Test func helpListsEveryBindingOfTheTable() throws {
        var state = busyState
        state.press(.help)
        let screen = render(state)
        for binding in state.bindings.bindings {
            #expect(
                screen.text.contains(binding.description), "help lacks '\(binding.description)'")
        }
        try expectGolden(screen, "help")
    }

    @Test func readOnlyHelpAndFooterHaveNoResend() {
        var state = ConsoleState.fresh(readOnly: true)
        state.feed(FeedFixtures.opening)
        #expect(!render(state).lines[29].contains("re-send"))
        state.press(.help)
        let text = render(state).text
        #expect(!text.contains("Re-send the selected event"))
        #expect(text.contains("r disabled: --read-only"))
    }

    @Test func inspectShowsTheOutboundJSONPrettyPrinted() throws {
        var state = busyState
        state.press(.top)
        state.press(.moveDown)
        state.press(.inspect)
        state.feed([FeedFixtures.inspectLead])
        state.press(.nextTab, in: .inspect)
        state.press(.nextTab, in: .inspect)
        try expectGolden(render(state), "inspect-outbound")
    }

    @Test func resendConfirmationNamesTheEventAndWarnsItWasDelivered() {
        var state = busyState
        state.press(.top)
        state.press(.moveDown)
        state.press(.resend)
        let line = render(state).lines[28]
        #expect(line.contains("Re-send cr1.lead0001? It was ALREADY DELIVERED"))
    }

    @Test func tooSmallWindowSaysTheSizeItNeeds() throws {
        let screen = render(busyState, width: 60, height: 15)
        #expect(screen.text.contains("The window is 60×15;"))
        #expect(screen.text.contains("needs at least 80×20."))
    }

    @Test func controlCharactersFromTheRelayNeverReachTheTerminal() {
        var screen = Screen(width: 20, height: 1)
        screen.put("a\u{1b}[2Jb", row: 0, column: 0, role: .text)
        #expect(screen.lines[0] == "a?[2Jb")
    }
}

@Suite("Rendering: a paused destination is an alert")
struct PausedDestinationRenderingTests {
    @Test func aPausedDestinationSaysWhyAndWhatToDo() {
        var state = ConsoleState.fresh()
        let destinations =
            #"[{"name":"capi 880000000000001","kind":"capi","dataset":"880000000000001","#
            + #""last_success_at":null,"last_error":null,"backlog":8,"paused":true,"#
            + #""paused_reason":"graph_190 code=190 Invalid OAuth access token."}]"#
        state.feed([
            FeedFixtures.hello,
            #"{"type":"snapshot","counters":"# + FeedFixtures.counters() + #","destinations":"#
                + destinations + #","records":[]}"#,
        ])
        let text = ConsoleRenderer(
            width: 140, height: 30, now: ConsoleRendererTests.noon, theme: BuiltinThemes.standard
        ).render(state).text
        #expect(text.contains("paused"))
        #expect(
            text.contains("ALERT fix, then SIGHUP: graph_190 code=190 Invalid"))
    }

    @Test func aFlowLineSaysWhereAServerEventCameFromAndShowsNoEmptyPerson() throws {
        func record(_ json: String) throws -> ReceivedRecord {
            ReceivedRecord(try JSONValue(parsing: json))
        }
        // A website visitor's server event has no Messenger person, and its kind alone does
        // not tell /v1/events from the CAPI-compatible endpoint.
        let rejected = try record(
            #"{"stage":"not_conversion","kind":"server_event","source":"capi_ingest","#
                + #""reason":"rejected: event_time: 1 is more than 7 days ago","page_id":"","#
                + #""psid":""}"#)
        #expect(
            ConsoleRenderer.detail(of: rejected)
                == "capi_ingest: rejected: event_time: 1 is more than 7 days ago")
        let read = try record(
            #"{"stage":"not_conversion","kind":"read","source":"messenger","reason":"a read","#
                + #""page_id":"100200300","psid":"7310000000000001"}"#)
        #expect(
            ConsoleRenderer.detail(of: read) == "read: a read page 100200300 user 7310000000000001")
        let mapped = try record(
            #"{"stage":"mapped","event_name":"Lead","event_ids":["cr1.a"],"event_id":"cr1.a","#
                + #""rule":"web-lead","page_id":"","psid":""}"#)
        #expect(ConsoleRenderer.detail(of: mapped) == "Lead cr1.a rule web-lead")
        // A dedupe hit says what repeated the event, and whose it is.
        let echo = try record(
            #"{"stage":"dedupe_hit","event_name":"Lead","event_id":"cr1.a","#
                + #""matched_event_id":"cr1.a","rule":"event_id","source":"crm_echo","#
                + #""page_id":"100200300","psid":"7310000000000001"}"#)
        #expect(
            ConsoleRenderer.detail(of: echo)
                == "Lead cr1.a matched cr1.a rule event_id from crm_echo page 100200300"
                + " user 7310000000000001")
    }
}
