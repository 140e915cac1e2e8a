import Foundation
import RelayDelivery

/// Answers each POST from a script and keeps what was sent, for the failure paths the sandbox
/// cannot produce yet: 5xx, throttling, transport errors.
final class ScriptedTransport: OutboundHTTP, @unchecked Sendable {
    struct Sent {
        var url: URL
        var headers: [String: String]
        var body: [UInt8]

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
        }
    }

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var script: [Result<OutboundResponse, TransportFailure>]
    /// Guarded by `lock`.
    private var sentRequests: [Sent] = []

    /// - Parameter script: answers in order; the last one repeats.
    init(_ script: [Result<OutboundResponse, TransportFailure>]) {
        self.script = script
    }

    var sent: [Sent] { lock.withLock { sentRequests } }

    func post(
        url: URL, headers: [String: String], body: [UInt8], timeoutSeconds: Double
    ) -> Result<OutboundResponse, TransportFailure> {
        lock.withLock {
            sentRequests.append(Sent(url: url, headers: headers, body: body))
            return script.count > 1 ? script.removeFirst() : script[0]
        }
    }

    static func graphSuccess(_ count: Int) -> Result<OutboundResponse, TransportFailure> {
        .success(
            OutboundResponse(
                status: 200,
                body: Array(#"{"events_received":\#(count),"messages":[],"fbtrace_id":"AbC"}"#.utf8)
            ))
    }

    static func graphError(
        status: Int, code: Int, subcode: Int? = nil, retryAfter: String? = nil
    ) -> Result<OutboundResponse, TransportFailure> {
        let sub = subcode.map { #","error_subcode":\#($0)"# } ?? ""
        let body =
            #"{"error":{"message":"scripted","type":"OAuthException","code":\#(code)\#(sub)}}"#
        return .success(
            OutboundResponse(
                status: status, headers: retryAfter.map { ["retry-after": $0] } ?? [:],
                body: Array(body.utf8)))
    }
}
