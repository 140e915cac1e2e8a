import RelayCore
import Testing

@testable import RelayIngest

/// Validation and normalization of server events, without a relay.
@Suite struct ServerEventParserTests {
    static let now: Int64 = 1_764_763_200
    let canonical = ServerEventParser(normalizer: Normalizer(), flavor: .canonical)
    let capi = ServerEventParser(normalizer: Normalizer(), flavor: .capi)

    func event(_ members: [String: JSONValue]) -> JSONValue {
        var base: [String: JSONValue] = [
            "event_name": "Lead", "event_time": .integer(Self.now - 60), "action_source": "chat",
            "user_data": ["external_id": "crm-1"],
        ]
        for (key, value) in members { base[key] = value }
        return .object(base)
    }

    @Test func plainValuesAreNormalizedAndHashedAndHashesPassThroughLowercased() throws {
        let hashed = String(repeating: "AB", count: 32)
        let parsed = try canonical.parse(
            event([
                "user_data": [
                    "em": [" John_Smith@Gmail.com ", .string(hashed)], "ph": "(650)555-1212",
                    "external_id": "crm-1",
                ]
            ]), nowSeconds: Self.now
        ).get()
        #expect(
            parsed.hashed["em"] == [
                "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
                hashed.lowercased(),
            ])
        #expect(
            parsed.hashed["ph"] == [
                "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"
            ])
        #expect(parsed.hashed["external_id"] == [Crypto.sha256Hex("crm-1")])
    }

    @Test func externalIDStaysInClearWhenTheConfigSaysSo() throws {
        let parser = ServerEventParser(
            normalizer: Normalizer(hashesExternalID: false), flavor: .canonical)
        let parsed = try parser.parse(event([:]), nowSeconds: Self.now).get()
        #expect(parsed.hashed["external_id"] == ["crm-1"])
    }

    @Test func invalidValuesAreDroppedWithAReasonThatNeverQuotesThem() throws {
        let parsed = try canonical.parse(
            event([
                "user_data": ["em": "not-an-address", "external_id": "crm-1"],
                "client_ip_address": "999.1.1.1", "fbc": "nonsense",
            ]), nowSeconds: Self.now
        ).get()
        #expect(
            parsed.invalidDropped == [
                InvalidValue(field: "client_ip_address", reason: "invalid_ip_address"),
                InvalidValue(field: "em", reason: "invalid_email"),
                InvalidValue(field: "fbc", reason: "invalid_fbc"),
            ])
        #expect(parsed.hashed["em"] == nil)
    }

    @Test func strictRulesNameTheFieldAndWhatWasExpected() {
        func problem(_ value: JSONValue, _ parser: ServerEventParser? = nil) -> EventProblem? {
            if case .failure(let problem) = (parser ?? canonical).parse(value, nowSeconds: Self.now)
            {
                return problem
            }
            return nil
        }
        #expect(problem(event(["event_time": .integer(Self.now * 1000)]))?.field == "event_time")
        #expect(
            problem(event(["event_time": .integer(Self.now - 8 * 86_400)]))?.field == "event_time")
        #expect(problem(event(["action_source": "fax"]))?.field == "action_source")
        #expect(problem(event(["evnet_id": "x"]))?.field == "evnet_id")
        #expect(problem(event(["event_id": "has space"]))?.field == "event_id")
        #expect(problem(event(["action_source": "website"]))?.field == "event_source_url")
        #expect(
            problem(event(["action_source": "business_messaging"]))?.message.contains("page_id")
                == true)
        #expect(problem(event(["event_name": "Purchase"]))?.field == "custom_data")
        #expect(problem(event(["consent": "maybe"]))?.field == "consent")
        #expect(problem(event(["user_data": ["em": "x"]]))?.field == "user_data")
        // Canonical-only keys are not part of Meta's shape.
        #expect(problem(event(["consent": "granted"]), capi)?.field == "consent")
    }
}
