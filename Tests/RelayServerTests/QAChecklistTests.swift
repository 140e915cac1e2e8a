import Foundation
import RelayCore
import Testing

@testable import RelayJournal
@testable import RelayServer

/// The `qa` checklist run on conversions built in memory, with no journal or server.
@Suite struct QAChecklistTests {
    static let example = try! RelayConfiguration.parse(
        Data(ExampleConfiguration.text.utf8), file: "example")

    /// A journaled conversion of `eventName`, made by the ingest path `source`.
    static func stored(_ id: Int64, _ eventName: String, source: String) -> StoredConversion {
        var conversion = Conversion(
            eventID: "ev-\(id)", eventName: eventName, dataset: "880000000000001",
            pageID: "104857600000001", pageScopedUserID: "7310000000000001",
            eventTime: 1_764_763_200, rule: "r")
        conversion.source = source
        conversion.consent = .granted
        return StoredConversion(
            id: id, eventID: "ev-\(id)", eventName: eventName, dataset: "880000000000001",
            eventTime: 1_764_763_200, createdAtMillis: 1_764_763_200_000, capiState: "sent",
            crmState: "disabled", consentDropped: [], conversion: conversion, bodyProblem: nil)
    }

    func eventNameCheck(_ configuration: RelayConfiguration, _ conversions: [StoredConversion])
        -> QACheck?
    {
        QAChecklist(configuration: configuration)
            .run(conversions: conversions, attempts: [], pixelEchoes: [])
            .checks.first { $0.id == "event_name" }
    }

    @Test func theExampleConfigsOwnCRMStagesAndServerEventsPassTheEventNameCheck() throws {
        let check = try #require(
            eventNameCheck(
                Self.example,
                [
                    Self.stored(1, "Lead", source: "messenger"),
                    Self.stored(2, "QualifiedLead", source: "crm_echo"),
                    Self.stored(3, "Contact", source: "server_event"),
                    Self.stored(4, "AddToCart", source: "capi_ingest"),
                ]))
        #expect(check.status == .pass, "\(check.summary)")
        #expect(check.summary.contains("crm_echo.stages"))
    }

    @Test func aStandardNameFromMessengerOrAnUnknownNameFromASenderFails() throws {
        let check = try #require(
            eventNameCheck(
                Self.example,
                [
                    Self.stored(1, "Contact", source: "messenger"),
                    Self.stored(2, "Leed", source: "server_event"),
                    Self.stored(3, "Lead", source: "server_event"),
                ]))
        #expect(check.status == .fail)
        #expect(check.failed == 2)
        #expect(check.examples == ["ev-1", "ev-2"])
        // The message names the set compared against, so the fix is clear.
        #expect(
            check.summary
                == "2 of 3 conversions have an event name outside the rules and"
                + " crm_echo.stages, or for server events and CAPI ingest Meta's standard"
                + " events and qa.event_names")
    }

    @Test func qaEventNamesAddsCustomNamesForSendersOnly() throws {
        var configuration = Self.example
        configuration.qa.eventNames = ["WebinarSignup"]
        let check = try #require(
            eventNameCheck(
                configuration,
                [
                    Self.stored(1, "WebinarSignup", source: "server_event"),
                    Self.stored(2, "WebinarSignup", source: "capi_ingest"),
                    Self.stored(3, "WebinarSignup", source: "messenger"),
                ]))
        #expect(check.failed == 1)
        #expect(check.examples == ["ev-3"])
    }

    @Test func qaEventNamesIsReadAndItsNeighboursAreCheckedForTypos() throws {
        let text = """
            { "pages": [{ "page_id": "1", "dataset": "2" }],
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }],
              "qa": { "event_names": ["WebinarSignup"] } }
            """
        let configuration = try RelayConfiguration.parse(Data(text.utf8), file: nil)
        #expect(configuration.qa.eventNames == ["WebinarSignup"])
        #expect(Self.example.qa.eventNames == [])

        let typo = text.replacingOccurrences(of: "event_names", with: "event_name")
        do {
            _ = try RelayConfiguration.parse(Data(typo.utf8), file: "bad.json")
            Issue.record("a misspelt qa key must be rejected")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "bad.json:3: qa.event_name: unknown key; did you mean 'event_names'?"))
        }
    }
}
