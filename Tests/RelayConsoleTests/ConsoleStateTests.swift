import Testing

@testable import RelayConsole

@Suite("Console state: feed messages and keys, no terminal")
struct ConsoleStateTests {
    @Test func snapshotRecordsFillTheFlowAndLiveRecordsFollowInOrder() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening + [FeedFixtures.dedupeHit])
        #expect(state.connection == .connected)
        #expect(state.hello?.node == "relay-1")
        #expect(state.flow.compactMap(\.record?.seq) == [1, 2, 3, 4])
        #expect(state.stats["received"] == 3)
    }

    @Test func failedAttemptsReachTheFailuresListNewestFirst() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening + [FeedFixtures.purchaseFailed])
        #expect(state.failures.map(\.eventIDs) == [["cr1.buy00002"]])
    }

    @Test func ratesArePerSecondBetweenStatsMessages() {
        var state = ConsoleState.fresh()
        state.feed([FeedFixtures.stats(received: 10, sent: 4)], now: 100)
        state.feed([FeedFixtures.stats(received: 30, sent: 8)], now: 102)
        #expect(state.rates["received"] == 10)
        #expect(state.rates["sent"] == 2)
    }

    @Test func filtersShowOnlyTheirKindOfRecord() {
        var state = ConsoleState.fresh()
        state.feed(
            FeedFixtures.opening + [
                FeedFixtures.dedupeHit, FeedFixtures.purchaseFailed, FeedFixtures.consentDropped,
            ])
        state.press(.filterFailed)
        #expect(state.visibleFlow.compactMap(\.record?.rawStage) == ["attempt_failed"])
        state.press(.filterDedupe)
        #expect(state.visibleFlow.compactMap(\.record?.rawStage) == ["dedupe_hit"])
        state.press(.filterConsent)
        #expect(state.visibleFlow.compactMap(\.record?.rawStage) == ["consent_dropped"])
        state.press(.filterCycle)
        #expect(state.filter == .all)
        #expect(state.visibleFlow.count == 6)
    }

    @Test func searchFindsRecordsByEventIDOrUserID() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening + [FeedFixtures.purchaseFailed])
        state.press(.search)
        state.type("buy0")
        _ = state.handle(.enter, now: 0)
        #expect(state.visibleFlow.compactMap(\.record?.seq) == [5])

        state.press(.search)
        for _ in 0..<4 { _ = state.handle(.backspace, now: 0) }
        state.type("73100000")
        _ = state.handle(.enter, now: 0)
        #expect(state.visibleFlow.compactMap(\.record?.seq) == [2])

        state.press(.clearSearch)
        #expect(state.visibleFlow.count == 4)
    }

    @Test func inspectAsksTheRelayForTheSelectedEventAndShowsItsTabs() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        let actions = state.press(.inspect)
        #expect(actions == [.send("inspect cr1.lead0001")])
        state.feed([FeedFixtures.inspectLead])
        state.press(.nextTab, in: .inspect)
        state.press(.nextTab, in: .inspect)
        guard case .inspect(let view) = state.mode else {
            Issue.record("not in the inspect view: \(state.mode)")
            return
        }
        #expect(view.tab == .outbound)
        #expect(view.lines.contains(#"      "event_id": "cr1.lead0001","#))
        state.press(.closeView, in: .inspect)
        #expect(state.mode == .flow)
    }

    @Test func resendOfADeliveredEventConfirmsNamingItAndSendsTheConfirmFlag() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        #expect(state.press(.resend) == [])
        #expect(state.mode == .confirmResend(eventID: "cr1.lead0001", alreadyDelivered: true))
        #expect(state.type("y") == [.send("resend cr1.lead0001 confirm")])
        state.feed([FeedFixtures.resendOK])
        #expect(state.notice?.text == "Re-send queued for cr1.lead0001.")
    }

    @Test func aCRMDeliveryAloneDoesNotMakeAnEventAlreadyDelivered() {
        var state = ConsoleState.fresh()
        state.feed([
            FeedFixtures.hello,
            FeedFixtures.snapshot(records: [FeedFixtures.mappedLead, FeedFixtures.sentLeadToCRM]),
        ])
        state.press(.moveUp)
        state.press(.resend)
        #expect(state.mode == .confirmResend(eventID: "cr1.lead0001", alreadyDelivered: false))
        #expect(state.type("y") == [.send("resend cr1.lead0001")])
    }

    @Test func aRefusedResendLeadsWithWhyAndKeepsTheRelaysWholeMessage() {
        var state = ConsoleState.fresh()
        state.feed([FeedFixtures.hello, FeedFixtures.snapshot(records: [FeedFixtures.mappedLead])])
        state.press(.resend)
        state.type("y")
        state.feed([FeedFixtures.alreadyQueued])
        #expect(
            state.notice?.text
                == "Re-send refused: still queued for CAPI — nothing to re-send yet"
                + " (cr1.lead0001)")
        #expect(
            state.notice?.fullText
                == "Re-send of cr1.lead0001 refused: event cr1.lead0001 is still queued for"
                + " delivery; there is nothing to re-send yet (already_queued)")
        #expect(state.notice?.isWarning == true)
    }

    @Test func anyKeyButYesCancelsAResendAndSaysNothingWasSent() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        state.press(.moveUp)
        state.press(.resend)
        #expect(state.type("n") == [])
        #expect(state.notice?.text.contains("cancelled; nothing was sent") == true)
    }

    @Test func relayAnsweringAlreadyDeliveredAsksAgainForConfirmation() {
        var state = ConsoleState.fresh()
        state.feed([FeedFixtures.hello, FeedFixtures.snapshot(records: [FeedFixtures.mappedLead])])
        state.press(.resend)
        #expect(state.type("y") == [.send("resend cr1.lead0001")])
        state.feed([FeedFixtures.alreadyDelivered])
        #expect(state.mode == .confirmResend(eventID: "cr1.lead0001", alreadyDelivered: true))
    }

    @Test func readOnlyRemovesResendAndItsKeySaysWhy() {
        var state = ConsoleState.fresh(readOnly: true)
        state.feed(FeedFixtures.opening)
        #expect(state.bindings.key(for: .resend) == nil)
        #expect(state.handle(.character("r"), now: 0) == [])
        #expect(state.mode == .flow)
        #expect(state.notice?.text.contains("--read-only") == true)
    }

    @Test func pauseHoldsNewRecordsAndResumeAppendsThemInOrder() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        state.press(.togglePause)
        state.feed([FeedFixtures.dedupeHit, FeedFixtures.purchaseFailed])
        #expect(state.flow.count == 3)
        #expect(state.held.count == 2)
        #expect(state.failures.count == 1, "failures keep updating while the flow is paused")
        state.press(.togglePause)
        #expect(state.flow.compactMap(\.record?.seq) == [1, 2, 3, 4, 5])
    }

    @Test func movingToTheNewestLineFollowsAgain() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        state.press(.top)
        #expect(state.selectedEntry?.record?.seq == 1)
        state.feed([FeedFixtures.dedupeHit])
        #expect(state.selectedEntry?.record?.seq == 1, "a scrolled-back selection stays put")
        state.press(.bottom)
        state.feed([FeedFixtures.purchaseFailed])
        #expect(state.selectedEntry?.record?.seq == 5)
    }

    @Test func missedRecordsShowAsALineAndATotal() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening + [#"{"type":"missed","count":12}"#])
        #expect(state.missedTotal == 12)
        #expect(state.flow.last?.content == .missed(12))
    }

    @Test func losingTheConnectionEndsAWaitingInspectWithAReason() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening)
        state.press(.inspect)
        state.disconnected(reason: "the relay closed the feed", retryAt: 10)
        guard case .inspect(let view) = state.mode else {
            Issue.record("inspect view closed unexpectedly")
            return
        }
        #expect(view.error?.contains("lost") == true)
    }

    @Test func aLineThatIsNotJSONIsIgnoredWithoutLosingTheFlow() {
        var state = ConsoleState.fresh()
        state.feed(FeedFixtures.opening + ["not json", #"{"type":"future"}"#])
        #expect(state.flow.count == 3)
    }

    @Test func themeKeyCyclesThroughEveryTheme() {
        var state = ConsoleState.fresh()
        var seen: [String] = []
        for _ in BuiltinThemes.names {
            if case .applyTheme(let name)? = state.press(.cycleTheme).first { seen.append(name) }
        }
        #expect(seen == ["monochrome", "high-contrast", "colorblind", "default"])
    }

    @Test func backoffDoublesToFiveSecondsAndResets() {
        var backoff = ReconnectBackoff()
        #expect((0..<6).map { _ in backoff.next() } == [0.5, 1, 2, 4, 5, 5])
        backoff.reset()
        #expect(backoff.next() == 0.5)
    }
}
