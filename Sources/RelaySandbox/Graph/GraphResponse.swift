import RelayCore
import RelayHTTP

/// Graph's response bodies, with members in the order Graph writes them.
///
/// JSON objects are unordered, but people diff a sandbox response against a captured Graph
/// one; matching the order removes a distraction. Values are encoded by `JSONValue`.
enum GraphResponse {
    /// `{"events_received":N,"messages":[],"fbtrace_id":"…"}` with status 200.
    static func eventsReceived(_ count: Int, fbtraceID: String) -> HTTPResponse {
        let body = ordered([
            ("events_received", .integer(Int64(count))),
            ("messages", .array([])),
            ("fbtrace_id", .string(fbtraceID)),
        ])
        return response(200, body, fbtraceID: fbtraceID)
    }

    /// `{"error":{"message":…,"type":…,"code":…,…,"fbtrace_id":…}}`, with the error's
    /// HTTP status.
    static func error(_ error: GraphError, fbtraceID: String) -> HTTPResponse {
        var members: [(String, JSONValue)] = [
            ("message", .string(error.message)),
            ("type", .string(error.type)),
            ("code", .integer(Int64(error.code))),
        ]
        if let subcode = error.subcode {
            members.append(("error_subcode", .integer(Int64(subcode))))
        }
        if let title = error.userTitle { members.append(("error_user_title", .string(title))) }
        if let message = error.userMessage { members.append(("error_user_msg", .string(message))) }
        members.append(("fbtrace_id", .string(fbtraceID)))
        let body = Array("{\"error\":".utf8) + ordered(members) + [UInt8(ascii: "}")]
        return response(error.httpStatus, body, fbtraceID: fbtraceID)
    }

    private static func response(_ status: Int, _ body: [UInt8], fbtraceID: String) -> HTTPResponse
    {
        var response = HTTPResponse.json(status, body)
        // Graph sends the trace ID as a header too; clients log it from there.
        response.headers.add(name: "x-fb-trace-id", value: fbtraceID)
        return response
    }

    private static func ordered(_ members: [(String, JSONValue)]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, (key, value)) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += JSONValue.string(key).serialized()
            out.append(UInt8(ascii: ":"))
            out += value.serialized()
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
