import Foundation
import RelayCore

/// One request the sandbox answered, as kept in memory and written to the record file.
///
/// The record file holds one `jsonLine` per request (JSON Lines). Credentials never appear in
/// it: the query is not recorded, events and bodies have any `access_token` and
/// `appsecret_proof` members removed, and error messages never quote tokens.
public struct SandboxRecord: Sendable, Equatable {
    /// Which stand-in answered.
    public enum Kind: String, Sendable {
        /// The Graph API stand-in: `POST /{version}/{dataset}/events` and other Graph paths.
        case capi
        /// The CRM webhook stand-in.
        case crm
    }

    public enum Verdict: String, Sendable {
        case accepted, rejected
    }

    /// When the request was answered, in Unix seconds with a fraction.
    public var time: Double
    public var kind: Kind
    public var method: String
    /// The request path without the query (which may carry the access token).
    public var path: String
    /// The dataset ID from the path; nil for CRM posts and unrouted Graph paths.
    public var dataset: String?
    /// The Graph API version from the path, e.g. `v25.0`.
    public var apiVersion: String?
    /// The HTTP status sent back.
    public var status: Int
    public var verdict: Verdict
    /// For CAPI, Graph's inner `error` object; for CRM, `{"message": …}`; nil when accepted.
    public var error: JSONValue?
    /// `events_received` as answered; nil unless accepted.
    public var eventsReceived: Int?
    /// CAPI: the events of `data` as parsed, nil when `data` could not be read.
    public var events: [JSONValue]?
    /// CRM: the body as parsed, nil when it was not JSON.
    public var body: JSONValue?
    public var testEventCode: String?
    public var partnerAgent: String?
    /// The `fbtrace_id` of a CAPI response, to match a record with what the relay logged.
    public var fbtraceID: String?
    /// The injected fault that answered (`outage`, `error`, `timeout`, `reject`), nil when the
    /// request was served as Meta would.
    public var fault: String?

    public init(
        time: Double, kind: Kind, method: String, path: String, dataset: String? = nil,
        apiVersion: String? = nil, status: Int, verdict: Verdict, error: JSONValue? = nil,
        eventsReceived: Int? = nil, events: [JSONValue]? = nil, body: JSONValue? = nil,
        testEventCode: String? = nil, partnerAgent: String? = nil, fbtraceID: String? = nil
    ) {
        self.time = time
        self.kind = kind
        self.method = method
        self.path = path
        self.dataset = dataset
        self.apiVersion = apiVersion
        self.status = status
        self.verdict = verdict
        self.error = error
        self.eventsReceived = eventsReceived
        self.events = events
        self.body = body
        self.testEventCode = testEventCode
        self.partnerAgent = partnerAgent
        self.fbtraceID = fbtraceID
    }

    /// Member names removed from everything recorded, at any depth.
    public static let credentialMembers: Set<String> = ["access_token", "appsecret_proof"]

    /// A copy with credential members stripped from `events` and `body`.
    public func redacted() -> SandboxRecord {
        var copy = self
        copy.events = events?.map { $0.removingMembers(named: Self.credentialMembers) }
        copy.body = body?.removingMembers(named: Self.credentialMembers)
        return copy
    }

    /// The record as one JSON object; absent values are written as null so that every line
    /// has the same keys.
    public var jsonObject: JSONValue {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        return [
            "time": .string(Self.iso8601(time)),
            "kind": .string(kind.rawValue),
            "method": .string(method),
            "path": .string(path),
            "dataset": optional(dataset),
            "api_version": optional(apiVersion),
            "status": .integer(Int64(status)),
            "verdict": .string(verdict.rawValue),
            "error": error ?? .null,
            "events_received": eventsReceived.map { .integer(Int64($0)) } ?? .null,
            "events": events.map(JSONValue.array) ?? .null,
            "body": body ?? .null,
            "test_event_code": optional(testEventCode),
            "partner_agent": optional(partnerAgent),
            "fbtrace_id": optional(fbtraceID),
            "fault": optional(fault),
        ]
    }

    /// The line for the record file, newline included.
    public var jsonLine: [UInt8] {
        jsonObject.serialized() + [UInt8(ascii: "\n")]
    }

    /// `2026-12-03T12:31:23.287Z`: UTC with milliseconds, readable and sortable.
    static func iso8601(_ time: Double) -> String {
        var seconds = time_t(time.rounded(.down))
        let millis = Int((time - time.rounded(.down)) * 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return
            "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
            + "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + ".\(pad(Int32(millis), 3))Z"
    }
}
