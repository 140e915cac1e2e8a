import RelayCore
import RelayHTTP
import Testing

@testable import RelaySandbox

@Suite("Sandbox routing and responses, without sockets")
struct SandboxHandlerTests {
    let handler = SandboxHandler(
        capi: CAPIRequestValidator(expectedAccessToken: CAPIFixtures.token),
        crm: CRMRequestValidator(secret: "crm-secret"),
        crmPath: "/crm"
    )

    func exchange(
        _ method: String, _ path: String, query: [String: String] = [:],
        headers: HTTPHeaders = ["Content-Type": "application/json"], body: [UInt8] = []
    ) -> SandboxExchange {
        let request = HTTPRequest(
            method: method, target: path, path: path, query: query, headers: headers, body: body
        )
        return handler.exchange(
            for: request, time: Double(CAPIFixtures.now) + 0.5, fbtraceID: "TRACE123456")
    }

    func text(_ response: HTTPResponse) -> String {
        String(decoding: response.body, as: UTF8.self)
    }

    @Test func aRejectedEventWithAnEmailInClearDoesNotLeaveItInTheRecord() {
        var event = CAPIFixtures.messengerPurchase()
        if case .object(var members) = event, case .object(var userData)? = members["user_data"] {
            userData["em"] = "jane.doe@example.com"
            userData["ph"] = .array([.string(Crypto.sha256Hex("16505551212")), "6505551212"])
            members["user_data"] = .object(userData)
            event = .object(members)
        }
        let result = exchange(
            "POST", "/v25.0/\(CAPIFixtures.dataset)/events",
            query: ["access_token": CAPIFixtures.token], body: CAPIFixtures.body([event]))
        #expect(result.response.status == 400)
        let recorded = result.record?.jsonObject.serializedString ?? ""
        #expect(!recorded.contains("jane.doe@example.com"))
        #expect(!recorded.contains("6505551212\""))
        #expect(recorded.contains(Crypto.sha256Hex("16505551212")), "valid hashes are kept")
        #expect(recorded.contains("[removed: not a SHA-256]"))
    }

    @Test func acceptedBatchAnswersGraphsExactSuccessBody() {
        let result = exchange(
            "POST", "/v25.0/\(CAPIFixtures.dataset)/events",
            query: ["access_token": CAPIFixtures.token],
            body: CAPIFixtures.body([
                CAPIFixtures.messengerPurchase(), CAPIFixtures.messengerPurchase(),
            ])
        )
        #expect(result.response.status == 200)
        #expect(
            text(result.response)
                == #"{"events_received":2,"messages":[],"fbtrace_id":"TRACE123456"}"#)
        #expect(result.response.headers["x-fb-trace-id"] == "TRACE123456")
        #expect(result.record?.verdict == .accepted)
        #expect(result.record?.eventsReceived == 2)
        #expect(result.record?.dataset == CAPIFixtures.dataset)
        #expect(result.record?.apiVersion == "v25.0")
    }

    @Test func rejectedBatchAnswersGraphsErrorBodyInGraphsOrder() {
        let old = CAPIFixtures.changing(
            CAPIFixtures.messengerPurchase(), "event_time",
            to: .integer(CAPIFixtures.now - 8 * 86_400))
        let result = exchange(
            "POST", "/v25.0/\(CAPIFixtures.dataset)/events",
            query: ["access_token": CAPIFixtures.token],
            body: CAPIFixtures.body([old])
        )
        #expect(result.response.status == 400)
        let body = text(result.response)
        #expect(
            body.hasPrefix(
                #"{"error":{"message":"Invalid parameter: "#
                    + "timestamp too old in event_time of event 0:"
            ))
        #expect(
            body.contains(
                #""type":"OAuthException","code":100,"error_subcode":2804003,"#
                    + #""error_user_title":"Event Timestamp Too Old","error_user_msg":"#
            ))
        #expect(body.hasSuffix(#","fbtrace_id":"TRACE123456"}}"#))
        #expect(result.record?.verdict == .rejected)
        #expect(result.record?.status == 400)
        #expect(result.record?.error?["error_subcode"] == 2_804_003)
        #expect(result.record?.events == [old])
        #expect(result.record?.eventsReceived == nil)
    }

    @Test func tokenErrorBodyHasNoSubcodeOrTitleWhenGraphSendsNone() throws {
        let result = exchange(
            "POST", "/v25.0/1/events", body: CAPIFixtures.body([CAPIFixtures.messengerPurchase()]))
        let body = try JSONValue(parsing: result.response.body)
        #expect(body["error"]?["code"] == 104)
        #expect(
            body["error"]?["message"] == "An access token is required to request this resource.")
        #expect(body["error"]?["fbtrace_id"] == "TRACE123456")
    }

    @Test func healthCheckAnswersOK() {
        let result = exchange("GET", "/healthz")
        #expect(result.response.status == 200)
        #expect(text(result.response) == "ok\n")
        #expect(result.record == nil)
    }

    @Test func unknownGraphPathIsGraphShaped404AndRecorded() throws {
        let result = exchange("POST", "/v25.0/123/dataset")
        #expect(result.response.status == 404)
        let body = try JSONValue(parsing: result.response.body)
        #expect(body["error"]?["code"] == 100)
        #expect(body["error"]?["error_subcode"] == 33)
        #expect(body["error"]?["message"]?.stringValue?.contains("/v25.0/123/dataset") == true)
        #expect(result.record?.kind == .capi)
        #expect(result.record?.verdict == .rejected)
    }

    @Test func otherPathsArePlain404sNamingTheRoutes() {
        let result = exchange("GET", "/favicon.ico")
        #expect(result.response.status == 404)
        #expect(text(result.response).contains("POST /{version}/{dataset}/events"))
        #expect(result.record == nil)
    }

    @Test func wrongMethodsAre405() {
        #expect(exchange("GET", "/v25.0/123/events").response.status == 405)
        #expect(exchange("GET", "/crm").response.status == 405)
        #expect(exchange("GET", "/crm").response.headers["Allow"] == "POST")
        #expect(exchange("POST", "/healthz").response.status == 405)
    }

    @Test func crmPostsAreCheckedAndRecorded() {
        let body = Array(#"{"event_id":"mid.1","event_name":"Purchase"}"#.utf8)
        let signature =
            "sha256=" + Crypto.hmacSHA256Hex(key: Array("crm-secret".utf8), message: body)

        let signed = exchange(
            "POST", "/crm", headers: ["x-capi-relay-signature-256": signature], body: body)
        #expect(signed.response.status == 200)
        #expect(text(signed.response) == #"{"ok":true}"#)
        #expect(signed.record?.kind == .crm)
        #expect(signed.record?.body == ["event_id": "mid.1", "event_name": "Purchase"])

        let unsigned = exchange("POST", "/crm", body: body)
        #expect(unsigned.response.status == 403)
        #expect(unsigned.record?.verdict == .rejected)
        #expect(unsigned.record?.error?["message"]?.stringValue?.contains("missing") == true)
    }

    @Test func crmPathIsConfigurable() {
        let custom = SandboxHandler(
            capi: CAPIRequestValidator(), crm: CRMRequestValidator(), crmPath: "/hooks/crm/")
        let request = HTTPRequest(
            method: "POST", target: "/hooks/crm", path: "/hooks/crm",
            body: Array(#"{"event_id":"a","event_name":"b"}"#.utf8)
        )
        #expect(custom.exchange(for: request, time: 0, fbtraceID: "T").response.status == 200)
    }
}
