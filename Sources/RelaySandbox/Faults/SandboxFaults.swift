import Foundation
import RelayCore

/// Failures the sandbox injects on purpose, for tests and for `demo --chaos`: random errors,
/// chosen Graph codes, throttling, latency, timeouts, rejection of chosen events, and
/// scripted outages.
///
/// Written as JSON (a `--faults FILE`, or `PUT /_sandbox/faults` at runtime), keys in
/// snake_case; an unknown key is an error, so that a typo cannot quietly inject nothing:
///
/// ```json
/// {"seed": 7,
///  "capi": {"latency_ms": 20,
///           "errors": [{"rate": 0.1, "status": 503, "code": 2},
///                      {"rate": 0.02, "status": 400, "code": 17, "retry_after_seconds": 1}],
///           "timeout_rate": 0.01, "timeout_ms": 3000,
///           "reject_event_ids": "^cr1\\.00",
///           "outages": [{"from_seconds": 10, "to_seconds": 40}]},
///  "crm": {"outages": [{"from_seconds": 0, "to_seconds": 60, "status": 503}]}}
/// ```
///
/// Outage times count from when the faults were set: the sandbox's start for a file, the
/// request for `PUT`.
public struct SandboxFaults: Sendable, Equatable {
    /// Seeds the random choices, so that a run can be repeated; nil picks one.
    public var seed: UInt64?
    public var capi = Target()
    public var crm = Target()

    public init(seed: UInt64? = nil, capi: Target = Target(), crm: Target = Target()) {
        self.seed = seed
        self.capi = capi
        self.crm = crm
    }

    /// The faults of one stand-in.
    public struct Target: Sendable, Equatable {
        /// Added to every answer, in milliseconds.
        public var latencyMs: Int = 0
        /// Random errors; each request draws once and takes the first rule whose share it
        /// falls in (rates add up: 0.1 and 0.05 fail 15 % of requests).
        public var errors: [ErrorRule] = []
        /// The share of requests that get no answer for `timeoutMs`, then a 504 nobody waits
        /// for; their events are not accepted.
        public var timeoutRate: Double = 0
        public var timeoutMs: Int = 5000
        /// A regular expression: a CAPI batch holding an event whose event_id matches is
        /// rejected whole with Graph code 100, as Meta rejects a batch for one bad event.
        public var rejectEventIDs: String?
        public var outages: [Outage] = []

        public init(
            latencyMs: Int = 0, errors: [ErrorRule] = [], timeoutRate: Double = 0,
            timeoutMs: Int = 5000, rejectEventIDs: String? = nil, outages: [Outage] = []
        ) {
            self.latencyMs = latencyMs
            self.errors = errors
            self.timeoutRate = timeoutRate
            self.timeoutMs = timeoutMs
            self.rejectEventIDs = rejectEventIDs
            self.outages = outages
        }

        public var isEmpty: Bool { self == Target() }
    }

    /// An error answered at random.
    public struct ErrorRule: Sendable, Equatable {
        /// The share of requests, 0…1.
        public var rate: Double
        public var status: Int = 500
        /// The Graph code in the body; nil sends a plain-text body (a proxy's 502, say).
        public var code: Int?
        public var subcode: Int?
        public var message: String?
        /// Sent as a Retry-After header.
        public var retryAfterSeconds: Double?

        public init(
            rate: Double, status: Int = 500, code: Int? = nil, subcode: Int? = nil,
            message: String? = nil, retryAfterSeconds: Double? = nil
        ) {
            self.rate = rate
            self.status = status
            self.code = code
            self.subcode = subcode
            self.message = message
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// A time window in which every request fails.
    public struct Outage: Sendable, Equatable {
        /// Seconds after the faults were set.
        public var fromSeconds: Double
        public var toSeconds: Double
        public var status: Int = 503
        /// Graph's "service temporarily unavailable" by default.
        public var code: Int? = 2

        public init(fromSeconds: Double, toSeconds: Double, status: Int = 503, code: Int? = 2) {
            self.fromSeconds = fromSeconds
            self.toSeconds = toSeconds
            self.status = status
            self.code = code
        }
    }

    public var isEmpty: Bool { capi.isEmpty && crm.isEmpty }
}

/// Why a fault description cannot be used; names the key path and what was expected.
public struct SandboxFaultsError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
}

extension SandboxFaults {
    /// Parses the JSON form; every problem is reported at once.
    public init(json bytes: [UInt8]) throws(SandboxFaultsError) {
        let root: JSONValue
        do {
            root = try JSONValue(parsing: bytes)
        } catch {
            throw SandboxFaultsError(description: "faults: not valid JSON: \(error)")
        }
        var problems: [String] = []
        func object(_ value: JSONValue?, _ path: String, keys: [String]) -> [String: JSONValue] {
            guard let value else { return [:] }
            guard let members = value.objectValue else {
                problems.append("\(path): expected an object")
                return [:]
            }
            for key in members.keys.sorted() where !keys.contains(key) {
                problems.append(
                    "\(path.isEmpty ? key : path + "." + key): unknown key; expected one of "
                        + keys.joined(separator: ", "))
            }
            return members
        }
        func number(_ value: JSONValue?, _ path: String, range: ClosedRange<Double>) -> Double? {
            guard let value, value != .null else { return nil }
            let number: Double?
            switch value {
            case .integer(let integer): number = Double(integer)
            case .float(let float): number = float
            default: number = nil
            }
            guard let number, range.contains(number) else {
                problems.append(
                    "\(path): expected a number in \(range.lowerBound)…\(range.upperBound)")
                return nil
            }
            return number
        }
        func integer(_ value: JSONValue?, _ path: String, range: ClosedRange<Double>) -> Int? {
            number(value, path, range: range).map { Int($0) }
        }

        let top = object(root, "", keys: ["seed", "capi", "crm"])
        seed = integer(top["seed"], "seed", range: 0...Double(Int64.max)).map { UInt64($0) }
        func target(_ name: String) -> Target {
            let members = object(
                top[name], name,
                keys: [
                    "latency_ms", "errors", "timeout_rate", "timeout_ms", "reject_event_ids",
                    "outages",
                ])
            var target = Target()
            target.latencyMs =
                integer(members["latency_ms"], "\(name).latency_ms", range: 0...60_000) ?? 0
            target.timeoutRate =
                number(members["timeout_rate"], "\(name).timeout_rate", range: 0...1) ?? 0
            target.timeoutMs =
                integer(members["timeout_ms"], "\(name).timeout_ms", range: 1...600_000) ?? 5000
            if let pattern = members["reject_event_ids"], pattern != .null {
                if let text = pattern.stringValue, (try? NSRegularExpression(pattern: text)) != nil
                {
                    target.rejectEventIDs = text
                } else {
                    problems.append("\(name).reject_event_ids: expected a regular expression")
                }
            }
            for (index, rule) in (members["errors"]?.arrayValue ?? []).enumerated() {
                let path = "\(name).errors[\(index)]"
                let fields = object(
                    rule, path,
                    keys: ["rate", "status", "code", "subcode", "message", "retry_after_seconds"])
                guard let rate = number(fields["rate"], "\(path).rate", range: 0...1) else {
                    if fields["rate"] == nil { problems.append("\(path).rate: is required") }
                    continue
                }
                target.errors.append(
                    ErrorRule(
                        rate: rate,
                        status: integer(fields["status"], "\(path).status", range: 400...599)
                            ?? 500,
                        code: integer(fields["code"], "\(path).code", range: 1...9_999_999),
                        subcode: integer(
                            fields["subcode"], "\(path).subcode", range: 1...99_999_999),
                        message: fields["message"]?.stringValue,
                        retryAfterSeconds: number(
                            fields["retry_after_seconds"], "\(path).retry_after_seconds",
                            range: 0...3600)))
            }
            for (index, outage) in (members["outages"]?.arrayValue ?? []).enumerated() {
                let path = "\(name).outages[\(index)]"
                let fields = object(
                    outage, path, keys: ["from_seconds", "to_seconds", "status", "code"])
                guard
                    let from = number(
                        fields["from_seconds"], "\(path).from_seconds", range: 0...1e9),
                    let to = number(fields["to_seconds"], "\(path).to_seconds", range: 0...1e9)
                else {
                    problems.append("\(path): from_seconds and to_seconds are required")
                    continue
                }
                if to <= from { problems.append("\(path): to_seconds must be after from_seconds") }
                var entry = Outage(fromSeconds: from, toSeconds: to)
                entry.status = integer(fields["status"], "\(path).status", range: 400...599) ?? 503
                if fields["code"] == .null {
                    entry.code = nil
                } else if let code = integer(fields["code"], "\(path).code", range: 1...9_999_999) {
                    entry.code = code
                }
                target.outages.append(entry)
            }
            if target.errors.map(\.rate).reduce(0, +) > 1 {
                problems.append("\(name).errors: the rates add up to more than 1")
            }
            return target
        }
        capi = target("capi")
        crm = target("crm")
        guard problems.isEmpty else {
            throw SandboxFaultsError(
                description: problems.map { "faults: " + $0 }.joined(separator: "\n"))
        }
    }

    /// The JSON form, as `GET /_sandbox/faults` answers it.
    public var json: JSONValue {
        func target(_ target: Target) -> JSONValue {
            .object([
                "latency_ms": .integer(Int64(target.latencyMs)),
                "timeout_rate": .float(target.timeoutRate),
                "timeout_ms": .integer(Int64(target.timeoutMs)),
                "reject_event_ids": target.rejectEventIDs.map(JSONValue.string) ?? .null,
                "errors": .array(
                    target.errors.map { rule in
                        .object([
                            "rate": .float(rule.rate), "status": .integer(Int64(rule.status)),
                            "code": rule.code.map { .integer(Int64($0)) } ?? .null,
                            "subcode": rule.subcode.map { .integer(Int64($0)) } ?? .null,
                            "message": rule.message.map(JSONValue.string) ?? .null,
                            "retry_after_seconds": rule.retryAfterSeconds.map(JSONValue.float)
                                ?? .null,
                        ])
                    }),
                "outages": .array(
                    target.outages.map { outage in
                        .object([
                            "from_seconds": .float(outage.fromSeconds),
                            "to_seconds": .float(outage.toSeconds),
                            "status": .integer(Int64(outage.status)),
                            "code": outage.code.map { .integer(Int64($0)) } ?? .null,
                        ])
                    }),
            ])
        }
        return .object([
            "seed": seed.map { .integer(Int64(bitPattern: $0)) } ?? .null,
            "capi": target(capi), "crm": target(crm),
        ])
    }
}
