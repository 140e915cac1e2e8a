import Foundation
import RelayCore
import RelayTestSupport
import Testing

@testable import RelayJournal

/// `POST /v1/events`, `/v1/event-ids`, the CAPI-compatible path and pixel echoes, end to end:
/// real `serve` and `sandbox` processes, real HTTP, a real SQLite file.
@Suite(.serialized) struct ServerEventsTests {
    static let leadEventID = MessengerPipelineTests.leadEventID
    static let page = "104857600000001"
    static let psid = "7310000000000001"

    static func json(_ response: RawHTTP.Response) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
            "not JSON: \(response.body)")
    }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    @Test func aServerEventSharingTheMessengerEventIDIsADuplicateAndNeverSentTwice() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let response = try stack.postEvents([
            "event_name": "Lead", "event_time": Self.now() - 20, "event_id": Self.leadEventID,
            "action_source": "business_messaging",
            "user_data": ["page_id": Self.page, "page_scoped_user_id": Self.psid],
        ])
        #expect(response.status == 200, "\(response.body)")
        let event = try #require((try Self.json(response)["events"] as? [[String: Any]])?.first)
        #expect(event["status"] as? String == "duplicate")
        #expect(event["event_id"] as? String == Self.leadEventID)
        #expect(event["rule"] as? String == "event_id")

        Thread.sleep(forTimeInterval: 0.5)  // time for a wrong second send to show up
        #expect(try stack.acceptedEvents().count == 1)
        #expect(try stack.counters().dedupeHits == 1)
    }

    @Test func aBatchTakesTheGoodEventsRefusesTheBadOnesWithReasonsAndMintsMissingIDs() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let feed = try FeedTestClient(path: stack.feedPath)

        let website: [String: Any] = [
            "event_name": "Contact", "event_time": Self.now() - 60,
            "action_source": "website", "event_source_url": "https://lp.example/contact",
            "client_user_agent": "Mozilla/5.0 (test)", "client_ip_address": "192.0.2.10",
            "fbp": "fb.1.1764763200000.1098115397", "consent": "granted",
            "user_data": ["em": " Renee.Dupont@Example.COM ", "ph": "not a phone"],
        ]
        let tooOld: [String: Any] = [
            "event_name": "Lead", "event_time": Self.now() - 8 * 86_400, "event_id": "web-old-1",
            "action_source": "chat", "user_data": ["external_id": "crm-77"],
        ]
        let millis: [String: Any] = [
            "event_name": "Lead", "event_time": Self.now() * 1000, "event_id": "web-ms-1",
            "action_source": "chat", "user_data": ["external_id": "crm-78"],
        ]
        let response = try stack.postEvents(["data": [website, tooOld, millis]])
        #expect(response.status == 200, "\(response.body)")
        let events = try #require(try Self.json(response)["events"] as? [[String: Any]])
        #expect(events.map { $0["status"] as? String } == ["new", "rejected", "rejected"])
        #expect((events[1]["error"] as? [String: Any])?["field"] as? String == "event_time")
        #expect(
            ((events[2]["error"] as? [String: Any])?["message"] as? String)?
                .contains("milliseconds") == true)
        let minted = try #require(events[0]["event_id"] as? String)
        #expect(minted.hasPrefix("cr1."))
        #expect((events[0]["warnings"] as? [String])?.first?.contains("no event_id") == true)
        #expect(
            events[0]["invalid_dropped"] as? [[String: String]] == [
                ["field": "ph", "reason": "invalid_phone"]
            ])
        // The reason never quotes the value.
        #expect(!response.body.contains("not a phone"))

        // The same event again (a retry) gets the same minted id, as a duplicate.
        let retry = try Self.json(try stack.postEvents(website))
        let again = try #require((retry["events"] as? [[String: Any]])?.first)
        #expect(again["status"] as? String == "duplicate")
        #expect(again["event_id"] as? String == minted)

        #expect(try eventually { try stack.acceptedEvents().count == 1 })
        let sent = try #require(try stack.acceptedEvents().first)
        #expect(sent["action_source"] as? String == "website")
        #expect(sent["event_source_url"] as? String == "https://lp.example/contact")
        let userData = try #require(sent["user_data"] as? [String: Any])
        #expect(userData["em"] as? [String] == [Crypto.sha256Hex("renee.dupont@example.com")])
        #expect(userData["ph"] == nil)
        #expect(userData["fbp"] as? String == "fb.1.1764763200000.1098115397")
        #expect(userData["client_ip_address"] as? String == "192.0.2.10")

        // Every rejection is journaled with its reason; the feed shows the dropped value.
        let counters = try stack.counters()
        #expect(counters.notConversions == 2)
        let mapped = try feed.read { $0["stage"] == "mapped" }.last
        #expect(mapped?["invalid_dropped"] == [["field": "ph", "reason": "invalid_phone"]])
        // No raw contact detail reached the journal.
        for suffix in ["", "-wal"] {
            let bytes = FileManager.default.contents(atPath: stack.journalPath + suffix) ?? Data()
            #expect(bytes.range(of: Data("Renee.Dupont".utf8)) == nil, "journal\(suffix)")
            #expect(bytes.range(of: Data("not a phone".utf8)) == nil, "journal\(suffix)")
        }
    }

    @Test func anEventLeftWithNothingToMatchOnceConsentRemovesItsIdentifiersIsRefused() throws {
        // Meta refuses an event with empty user_data, so accepting it would only make a dead
        // letter: the sender hears now, with the field named and never its value.
        let stack = try RelayStack()
        defer { stack.stop() }
        var event: [String: Any] = [
            "event_name": "Lead", "event_time": Self.now() - 60, "event_id": "web-unconsented-1",
            "action_source": "system_generated", "consent": "unknown",
            "user_data": ["em": "someone@example.com"],
        ]
        let refused = try stack.postEvents(event)
        #expect(refused.status == 400, "\(refused.body)")
        let answer = try #require((try Self.json(refused)["events"] as? [[String: Any]])?.first)
        #expect(answer["status"] as? String == "rejected")
        let message = (answer["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("consent") && message.contains("em"), "\(message)")
        #expect(!refused.body.contains("someone@example.com"))

        // With consent the same event is new, and it is the only one Meta gets.
        event["consent"] = "granted"
        event["event_id"] = "web-consented-1"
        let accepted = try #require(
            (try Self.json(try stack.postEvents(event))["events"] as? [[String: Any]])?.first)
        #expect(accepted["status"] as? String == "new")
        #expect(try eventually { try stack.acceptedEvents().count == 1 })
        Thread.sleep(forTimeInterval: 0.5)  // time for a wrong second send to show up
        #expect(try stack.acceptedEvents().map { $0["event_id"] as? String } == ["web-consented-1"])
        #expect(try stack.counters().capiFailed == 0)
    }

    @Test func aWrongTokenIs401AndAMalformedBodyIs400() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let wrong = try stack.postEvents(["event_name": "Lead"], token: "nope")
        #expect(wrong.status == 401)
        #expect(wrong.header("WWW-Authenticate") == "Bearer")
        let malformed = try RawHTTP.post(
            port: stack.relayPort, path: "/v1/events",
            headers: ["Authorization": "Bearer \(RelayStack.eventsToken)"],
            body: Array("{\"data\":".utf8))
        #expect(malformed.status == 400)
        #expect(try stack.counters().deliveries == 0)
        #expect(!stack.relay.stderr.contains(RelayStack.eventsToken))
    }

    @Test func mintedEventIDsAreDeterministicForTheSameInputs() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let request = [
            "event_name": "Lead", "page_id": Self.page, "page_scoped_user_id": Self.psid,
            "nonce": "landing-42",
        ]
        let first = try stack.mintEventID(request)
        #expect(try stack.mintEventID(request) == first)
        #expect(
            first
                == EventID.mint(
                    eventName: "Lead", pageID: Self.page, pageScopedUserID: Self.psid,
                    nonce: "landing-42"))
        var other = request
        other["nonce"] = "landing-43"
        #expect(try stack.mintEventID(other) != first)
    }

    @Test func theCAPIPathSpeaksGraphAndDeduplicatesAgainstMessenger() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let event: [String: Any] = [
            "event_name": "Lead", "event_time": Self.now() - 10, "event_id": Self.leadEventID,
            "action_source": "business_messaging", "messaging_channel": "messenger",
            "user_data": ["page_id": Self.page, "page_scoped_user_id": Self.psid],
        ]
        // A form body with data as a JSON string, the way Graph's own clients post.
        let data = String(
            decoding: try JSONSerialization.data(withJSONObject: [event]), as: UTF8.self)
        let form =
            "access_token=\(RelayStack.ingestToken)&data="
            + data.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let response = try RawHTTP.post(
            port: stack.relayPort, path: "/v25.0/\(RelayStack.dataset)/events",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(form.utf8))
        #expect(response.status == 200, "\(response.body)")
        let answer = try Self.json(response)
        #expect((answer["events_received"] as? NSNumber)?.intValue == 1)
        #expect(answer["fbtrace_id"] is String)
        #expect((answer["messages"] as? [String])?.first?.contains("duplicate") == true)

        // A wrong token and an unknown dataset are refused in Graph's error shape.
        let wrong = try RawHTTP.post(
            port: stack.relayPort, path: "/v25.0/\(RelayStack.dataset)/events?access_token=x",
            headers: ["Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: ["data": [event]])))
        #expect(wrong.status == 400)
        #expect(((try Self.json(wrong)["error"] as? [String: Any])?["code"] as? NSNumber) == 190)
        let unknown = try RawHTTP.post(
            port: stack.relayPort,
            path: "/v25.0/999/events?access_token=\(RelayStack.ingestToken)",
            headers: ["Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: ["data": [event]])))
        #expect(
            ((try Self.json(unknown)["error"] as? [String: Any])?["error_subcode"] as? NSNumber)
                == 33)

        // A batch with one invalid event is refused whole, as Graph does.
        var bad = event
        bad["event_id"] = "capi-2"
        bad["action_source"] = "carrier_pigeon"
        let batch = try RawHTTP.post(
            port: stack.relayPort,
            path: "/v25.0/\(RelayStack.dataset)/events?access_token=\(RelayStack.ingestToken)",
            headers: ["Content-Type": "application/json"],
            body: Array(try JSONSerialization.data(withJSONObject: ["data": [event, bad]])))
        #expect(batch.status == 400)
        let message = (try Self.json(batch)["error"] as? [String: Any])?["message"] as? String
        #expect(message?.contains("data[1].action_source") == true)

        Thread.sleep(forTimeInterval: 0.5)
        #expect(try stack.acceptedEvents().count == 1)
        #expect(try stack.counters().dedupeHits == 1)
        #expect(!stack.relay.stderr.contains(RelayStack.ingestToken))
    }

    @Test func pixelEchoesAnswerThePreflightAndMeasureCoverage() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        try stack.deliverTheFixtureLead()

        let preflight = try RawHTTP.exchange(
            port: stack.relayPort,
            Array(
                ("OPTIONS /v1/pixel-echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Origin: https://lp.example\r\nAccess-Control-Request-Method: POST\r\n\r\n")
                    .utf8))
        #expect(preflight.status == 204)
        #expect(preflight.header("Access-Control-Allow-Origin") == "*")
        #expect(preflight.header("Access-Control-Allow-Methods")?.contains("POST") == true)

        let echo = try stack.postPixelEcho(eventID: Self.leadEventID, eventName: "Lead")
        #expect(echo.status == 204)
        #expect(echo.header("Access-Control-Allow-Origin") == "*")
        #expect(try stack.postPixelEcho(eventID: Self.leadEventID, eventName: "Lead").status == 204)
        #expect(try stack.postPixelEcho(eventID: "has space", eventName: "Lead").status == 400)

        let counters = try stack.counters()
        #expect(counters.pixelEchoes == 1)
        #expect(counters.pixelMatched == 1)
        #expect(counters.pixelCoverage == 1)

        // The feed's stats carry the coverage.
        let feed = try FeedTestClient(path: stack.feedPath)
        let snapshot = try feed.read { $0["type"] == "snapshot" }.last
        #expect(snapshot?["totals"]?["pixel_coverage"]?["share"]?.numberValue == 1)
        #expect(snapshot?["totals"]?["pixel_coverage"]?["pixel_matched"] == 1)

        // The table the commands read.
        let database = try SQLiteDatabase(path: stack.journalPath)
        defer { database.close() }
        let rows = try database.statement("SELECT event_id, event_name FROM pixel_echoes")
        #expect(try rows.step())
        #expect(rows.text(0) == Self.leadEventID)
        #expect(rows.text(1) == "Lead")
    }
}
