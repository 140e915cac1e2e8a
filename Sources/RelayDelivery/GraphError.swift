import Foundation

/// An error body from the Graph API.
public struct GraphError: Sendable, Equatable {
    public var code: Int?
    public var subcode: Int?
    public var type: String?
    public var message: String
    public var fbtraceID: String?
    /// Graph's own `is_transient` flag, seen on some CAPI errors; a hint for codes the relay
    /// does not know, never a reason to retry a code it knows to be permanent.
    public var isTransient: Bool?

    public init(
        code: Int?, subcode: Int? = nil, type: String? = nil, message: String,
        fbtraceID: String? = nil, isTransient: Bool? = nil
    ) {
        self.code = code
        self.subcode = subcode
        self.type = type
        self.message = message
        self.fbtraceID = fbtraceID
        self.isTransient = isTransient
    }

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
            fbtraceID: error["fbtrace_id"] as? String,
            isTransient: (error["is_transient"] as? NSNumber)?.boolValue)
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
