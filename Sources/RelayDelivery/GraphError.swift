import Foundation

/// An error body from the Graph API, and what the relay should do about it.
public struct GraphError: Sendable, Equatable {
    /// How a failure is treated.
    public enum Class: String, Sendable {
        /// Retried with backoff: outages, throttling, timeouts.
        case transient
        /// Never retried as is: the request or the token must change first.
        case permanent
    }

    public var code: Int?
    public var subcode: Int?
    public var type: String?
    public var message: String
    public var fbtraceID: String?

    /// Codes the Graph error reference says to retry: unknown and service errors, and the
    /// app, user, application and ad-account rate limits.
    static let transientCodes: Set<Int> = [1, 2, 4, 17, 341, 368, 613, 80004]

    /// Parses `{"error": {...}}`; nil when the body is not a Graph error.
    public static func parse(_ body: [UInt8]) -> GraphError? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let error = object["error"] as? [String: Any]
        else { return nil }
        return GraphError(
            code: (error["code"] as? NSNumber)?.intValue,
            subcode: (error["error_subcode"] as? NSNumber)?.intValue,
            type: error["type"] as? String,
            message: (error["message"] as? String) ?? "no message",
            fbtraceID: error["fbtrace_id"] as? String)
    }

    /// The class of a response: by Graph code when there is one, else by HTTP status.
    public static func classify(status: Int, error: GraphError?) -> Class {
        if let code = error?.code {
            return transientCodes.contains(code) ? .transient : .permanent
        }
        if status >= 500 || status == 429 || status == 408 { return .transient }
        return .permanent
    }

    /// A one-line summary for the journal and the log.
    public var summary: String {
        var parts = ["graph error"]
        if let code { parts.append("code=\(code)") }
        if let subcode { parts.append("subcode=\(subcode)") }
        parts.append(message)
        return parts.joined(separator: " ")
    }
}
