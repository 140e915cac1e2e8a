import Testing

@testable import RelayCore

@Suite struct EventIDTests {
    @Test func derivationIsPinnedBecausePixelsAndCRMsStoreTheseIds() {
        // sha256("capi-relay/event-id/v1␟page␟psid␟Lead␟mid:…") computed with sha256sum: a
        // change here would stop redeliveries made before an upgrade from deduplicating.
        let id = EventID.derive(
            pageID: "104857600000001", pageScopedUserID: "7310000000000001", eventName: "Lead",
            anchor: "mid:m_AbCdEf0001-qr")
        #expect(id == "cr1.0b19a533abad2696d71263328305edaf")
    }

    @Test func everyInputChangesTheId() {
        let base = EventID.derive(
            pageID: "1", pageScopedUserID: "2", eventName: "Lead", anchor: "a")
        #expect(
            base
                != EventID.derive(
                    pageID: "9", pageScopedUserID: "2", eventName: "Lead", anchor: "a"))
        #expect(
            base
                != EventID.derive(
                    pageID: "1", pageScopedUserID: "9", eventName: "Lead", anchor: "a"))
        #expect(
            base
                != EventID.derive(
                    pageID: "1", pageScopedUserID: "2", eventName: "Schedule", anchor: "a"))
        #expect(
            base
                != EventID.derive(
                    pageID: "1", pageScopedUserID: "2", eventName: "Lead", anchor: "b"))
    }

    @Test func itemsWithoutAMidAnchorOnTheirTimestamp() {
        let signal = InboundSignal(
            pageID: "1", pageScopedUserID: "2", timestampMillis: 1_764_763_300_700, kind: .referral)
        #expect(EventID.anchor(for: signal) == "t:1764763300700")
    }

    @Test func suppliedIdsMustBePrintableAndShort() {
        #expect(EventID.isValidSupplied("ord-123"))
        #expect(!EventID.isValidSupplied(""))
        #expect(!EventID.isValidSupplied("has space"))
        #expect(!EventID.isValidSupplied(String(repeating: "x", count: 201)))
    }
}
