import RelayCore
import RelaySandbox

/// Small, named CAPI payloads shared by the validator and sandbox tests.
enum CAPIFixtures {
    /// A fixed server clock, in Unix seconds.
    static let now: Int64 = 1_760_000_000
    static let token = "sandbox-token-1"
    static let dataset = "1234567890"

    /// SHA-256 of `john_smith@gmail.com`, the reference's normalised `em` example.
    static let hashedEmail = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"

    /// A Messenger business-messaging Purchase as the relay sends it.
    static func messengerPurchase(
        eventID: String = "mid.1457764197618:41d102a3e1ae206a38"
    ) -> JSONValue {
        [
            "event_name": "Purchase",
            "event_time": .integer(now - 30),
            "event_id": .string(eventID),
            "action_source": "business_messaging",
            "messaging_channel": "messenger",
            "user_data": ["page_id": "106540352242922", "page_scoped_user_id": "6545236262234513"],
            "custom_data": ["currency": "USD", "value": 123.5],
        ]
    }

    /// A website Purchase shaped like the reference's minimal example.
    static func websitePurchase() -> JSONValue {
        [
            "event_name": "Purchase",
            "event_time": .integer(now - 3_600),
            "event_id": "event.id.123",
            "event_source_url": "http://jaspers-market.com/product/123",
            "action_source": "website",
            "user_data": [
                "client_ip_address": "192.19.9.9",
                "client_user_agent": "test ua",
                "em": [.string(hashedEmail)],
                "ph": ["254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4"],
                "fbc": "fb.1.1554763741205.AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
                "fbp": "fb.1.1558571054389.1098115397",
            ],
            "custom_data": ["value": 100.2, "currency": "USD", "content_ids": ["product.id.123"]],
            "opt_out": false,
        ]
    }

    /// `event` with the member at `path` (dot-separated) replaced, or removed when nil.
    static func changing(_ event: JSONValue, _ path: String, to value: JSONValue?) -> JSONValue {
        let keys = path.split(separator: ".").map(String.init)
        return set(event, keys[...], value)
    }

    private static func set(
        _ base: JSONValue, _ keys: ArraySlice<String>, _ value: JSONValue?
    ) -> JSONValue {
        guard let key = keys.first, case .object(var members) = base else { return base }
        if keys.count == 1 {
            members[key] = value
        } else {
            members[key] = set(members[key] ?? [:], keys.dropFirst(), value)
        }
        return .object(members)
    }

    /// A JSON request body `{"data": events, …}`.
    static func body(_ events: [JSONValue], extra: [String: JSONValue] = [:]) -> [UInt8] {
        var members = extra
        members["data"] = .array(events)
        return JSONValue.object(members).serialized()
    }

    /// A request carrying the token in the query, as the relay sends it.
    static func request(
        _ events: [JSONValue], query: [String: String] = ["access_token": token],
        extra: [String: JSONValue] = [:]
    ) -> CAPIRequest {
        CAPIRequest(dataset: dataset, query: query, body: body(events, extra: extra), now: now)
    }
}
