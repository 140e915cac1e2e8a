import Foundation
import RelayCore
import Testing

@testable import RelayJournal
@testable import RelayServer

/// `reconcile` on conversions and CRM records built in memory.
@Suite struct ReconcilerTests {
    /// A sent conversion from `source` whose CRM state is `crmState`.
    static func stored(
        _ id: Int64, source: String, crmState: String, testEventCode: String? = nil
    ) -> StoredConversion {
        var conversion = Conversion(
            eventID: "ev-\(id)", eventName: "Lead", dataset: "880000000000001",
            pageID: "104857600000001", pageScopedUserID: "7310000000000001",
            eventTime: 1_764_763_200, rule: "r")
        conversion.source = source
        conversion.testEventCode = testEventCode
        return StoredConversion(
            id: id, eventID: "ev-\(id)", eventName: "Lead", dataset: "880000000000001",
            eventTime: 1_764_763_200, createdAtMillis: 1_764_763_200_000, capiState: "sent",
            crmState: crmState, consentDropped: [], conversion: conversion, bodyProblem: nil)
    }

    static let conversions = [
        stored(1, source: "messenger", crmState: "sent"),
        stored(2, source: "messenger", crmState: "sent"),
        // A CRM stage conversion: the relay never posts it back to the CRM.
        stored(3, source: "crm_echo", crmState: "disabled"),
        // Journaled while no CRM was configured.
        stored(4, source: "server_event", crmState: "disabled"),
        // A Meta Test Events conversion, with a CRM configured: never posted to it.
        stored(5, source: "capi_ingest", crmState: "disabled", testEventCode: "TEST123"),
    ]
    static let records = [
        CRMExportRecord(line: 2, recordID: "CRM-1", eventID: "ev-1", createdAtMillis: nil)
    ]

    @Test func conversionsNeverMeantForTheCRMAreExcludedAndCountedByReason() {
        let report = Reconciler.reconcile(
            crm: Self.records, conversions: Self.conversions, sinceMillis: nil)
        #expect(report.journalOnly.map(\.eventID) == ["ev-2"])
        #expect(report.excluded == [.crmEcho: 1, .testEvent: 1, .crmDisabled: 1])
        #expect(report.sentConversions == 5)
        #expect(report.matched == 1)
        #expect(report.mismatches == 1)
    }

    @Test func theTextAndJSONSayHowManyWereExcludedAndWhy() throws {
        let report = Reconciler.reconcile(
            crm: Self.records, conversions: Self.conversions, sinceMillis: nil)
        let text = report.text(crmFile: "crm.csv", journal: "j.sqlite", since: nil, threshold: 0)
        #expect(text.contains("  sent, not in the CRM          1   e.g. ev-2"), "\(text)")
        #expect(
            text.contains(
                "  not compared: 3 sent conversions never meant for the CRM (1 made by the CRM"
                    + " (crm_echo.stages), never posted back to it; 1 test events"
                    + " (test_event_code), never posted to the CRM; 1 journaled with crm_state"
                    + " disabled, never posted to a CRM)"), "\(text)")

        let json = report.json(
            crmFile: "crm.csv", journal: "j.sqlite", sinceMillis: nil, threshold: 0)
        let excluded = json["excluded"]?.arrayValue ?? []
        #expect(
            excluded.map { $0["reason"]?.stringValue } == [
                "crm_echo", "test_event", "crm_disabled",
            ])
        #expect(excluded.map { $0["conversions"]?.integerValue } == [1, 1, 1])
    }

    @Test func nothingExcludedSaysNothingAboutExclusions() {
        let report = Reconciler.reconcile(
            crm: Self.records, conversions: Array(Self.conversions.prefix(2)), sinceMillis: nil)
        #expect(report.excludedCount == 0)
        let text = report.text(crmFile: "crm.csv", journal: "j.sqlite", since: nil, threshold: 0)
        #expect(!text.contains("not compared"))
    }
}
