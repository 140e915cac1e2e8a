import RelayCore

/// One line of the relay's feed, decoded.
///
/// Decoding never fails a whole connection: a line that is not JSON or has an unknown `type`
/// becomes `.unrecognized`, which the console logs and otherwise ignores, so that a newer relay
/// can add message types without breaking older consoles.
public enum FeedMessage: Sendable, Equatable {
    case hello(FeedHello)
    case snapshot(FeedStats, records: [ReceivedRecord])
    case record(ReceivedRecord)
    case stats(FeedStats)
    case missed(count: Int64)
    case reply(FeedReply)
    case unrecognized(reason: String)

    /// Decodes one line (without its newline).
    public init(line: String) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            self = .unrecognized(reason: "not JSON: \(error)")
            return
        }
        switch value["type"]?.stringValue {
        case "hello": self = .hello(FeedHello(value))
        case "snapshot":
            let records = value["records"]?.arrayValue?.map(ReceivedRecord.init) ?? []
            self = .snapshot(FeedStats(value), records: records)
        case "record": self = .record(ReceivedRecord(value))
        case "stats": self = .stats(FeedStats(value))
        case "missed": self = .missed(count: value["count"]?.integerValue ?? 0)
        case "reply": self = .reply(FeedReply(value))
        case let other?: self = .unrecognized(reason: "unknown type '\(other)'")
        case nil: self = .unrecognized(reason: "no type member")
        }
    }
}

/// The relay's greeting: who it is and a summary of its config (never secrets).
public struct FeedHello: Sendable, Equatable {
    public var protocolVersion: Int64
    public var version: String
    public var node: String
    /// Whether the relay's journal is a database other relays share: then the flow is this
    /// relay's own and the totals are every relay's.
    public var sharedJournal: Bool
    public var datasets: [String]
    public var hasCRM: Bool

    public init(_ value: JSONValue) {
        protocolVersion = value["protocol"]?.integerValue ?? 0
        version = value["version"]?.stringValue ?? "?"
        node = value["node"]?.stringValue ?? "?"
        sharedJournal = value["journal"]?["shared"]?.boolValue ?? false
        datasets = value["config"]?["datasets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        hasCRM = value["config"]?["crm"]?.boolValue ?? false
    }
}

/// Counters since the relay started and the health of each destination.
public struct FeedStats: Sendable, Equatable {
    /// Counter name (as on the wire, e.g. `dedupe_hits`) to value.
    public var counters: [String: Int64]
    public var destinations: [DestinationHealth]
    /// The share of conversions whose event_id the browser pixel also reported; nil before
    /// the first conversion.
    public var pixelCoverage: Double?
    /// Per event name, the share of conversions carrying each match key.
    public var matchKeys: [MatchKeyShare]

    public init(
        counters: [String: Int64] = [:], destinations: [DestinationHealth] = [],
        pixelCoverage: Double? = nil, matchKeys: [MatchKeyShare] = []
    ) {
        self.counters = counters
        self.destinations = destinations
        self.pixelCoverage = pixelCoverage
        self.matchKeys = matchKeys
    }

    public init(_ value: JSONValue) {
        var counters: [String: Int64] = [:]
        for (name, number) in value["counters"]?.objectValue ?? [:] {
            if let count = number.integerValue { counters[name] = count }
        }
        self.counters = counters
        destinations = value["destinations"]?.arrayValue?.map(DestinationHealth.init) ?? []
        let pixel = value["counters"]?["pixel_coverage"]?["share"]
        pixelCoverage = pixel?.numberValue
        matchKeys = value["match_keys"]?.arrayValue?.compactMap(MatchKeyShare.init) ?? []
    }

    public subscript(counter: String) -> Int64 { counters[counter] ?? 0 }
}

/// Match-key coverage of one event name, as the relay counts it.
public struct MatchKeyShare: Sendable, Equatable {
    public var eventName: String
    public var conversions: Int64
    /// Match key (`em`, `ph`, …) to conversions carrying it.
    public var carrying: [String: Int64]

    public init(eventName: String, conversions: Int64, carrying: [String: Int64]) {
        self.eventName = eventName
        self.conversions = conversions
        self.carrying = carrying
    }

    init?(_ value: JSONValue) {
        guard let name = value["event_name"]?.stringValue,
            let conversions = value["conversions"]?.integerValue
        else { return nil }
        eventName = name
        self.conversions = conversions
        carrying = (value["carrying"]?.objectValue ?? [:]).compactMapValues(\.integerValue)
    }

    /// The share of conversions carrying `key`, 0 to 1.
    public func share(_ key: String) -> Double {
        conversions == 0 ? 0 : Double(carrying[key] ?? 0) / Double(conversions)
    }
}

/// How one destination (a CAPI dataset or the CRM) is doing.
public struct DestinationHealth: Sendable, Equatable {
    public var name: String
    public var kind: String
    public var lastSuccessAt: String?
    /// "400 code=100: message", already condensed for one line.
    public var lastError: String?
    public var lastErrorAt: String?
    public var backlog: Int64
    public var paused: Bool
    /// Why the relay paused this destination (a refused token), while it is paused.
    public var pausedReason: String?

    public init(_ value: JSONValue) {
        name = value["name"]?.stringValue ?? "?"
        kind = value["kind"]?.stringValue ?? "?"
        lastSuccessAt = value["last_success_at"]?.stringValue
        backlog = value["backlog"]?.integerValue ?? 0
        paused = value["paused"]?.boolValue ?? false
        pausedReason = value["paused_reason"]?.stringValue
        if let error = value["last_error"], error != .null {
            var parts: [String] = []
            if let status = error["status"]?.integerValue { parts.append("HTTP \(status)") }
            if let code = error["code"]?.integerValue { parts.append("code \(code)") }
            if let subcode = error["subcode"]?.integerValue { parts.append("subcode \(subcode)") }
            let message = error["message"]?.stringValue ?? ""
            let codes = parts.joined(separator: " ")
            lastError = [codes, message].filter { !$0.isEmpty }.joined(separator: ": ")
            lastErrorAt = error["at"]?.stringValue
        }
    }
}

/// The relay's answer to a command line the console sent.
public struct FeedReply: Sendable, Equatable {
    public var command: String
    public var ok: Bool
    public var result: JSONValue
    /// `already_delivered`, `unknown_event`, `not_allowed`, `bad_command`, …
    public var errorCode: String?
    public var errorMessage: String?

    public init(_ value: JSONValue) {
        command = value["command"]?.stringValue ?? ""
        ok = value["ok"]?.boolValue ?? false
        result = value["result"] ?? .null
        errorCode = value["error"]?["code"]?.stringValue
        errorMessage = value["error"]?["message"]?.stringValue
    }
}
