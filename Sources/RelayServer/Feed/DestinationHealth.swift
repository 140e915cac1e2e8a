import Foundation
import RelayCore
import RelayDelivery
import RelayFeed

/// The last success and last error per destination (each CAPI dataset, and the CRM), from the
/// delivery workers' events; what the console's health pane shows. It also notices outages
/// (several failed attempts in a row) and recoveries, and whether a destination is paused.
final class DestinationHealth: @unchecked Sendable {
    struct Entry {
        var lastSuccessMillis: Int64?
        var lastError: JSONValue?
        /// Failed attempts since the last success.
        var failuresInARow = 0
        /// Set while an outage is declared.
        var downSinceMillis: Int64?
    }

    /// Failed attempts in a row that make an outage. One failure is noise (a 5xx now and
    /// then); three in a row, each after a backoff, is a destination that is down.
    static let outageThreshold = 3

    private let lock = NSLock()
    /// Guarded by `lock`; keyed by destination name (`capi 880…`, `crm`).
    private var entries: [String: Entry] = [:]
    /// Guarded by `lock`: why `capi` or `crm` is paused.
    private var paused: [String: String] = [:]

    /// Why each paused destination (`capi`, `crm`) is paused.
    var pausedReasons: [String: String] { lock.withLock { paused } }

    static func name(destination: String, dataset: String) -> String {
        destination == "crm" ? "crm" : "capi \(dataset)"
    }

    /// Notes an event; returns the `outage` and `recovered` records it causes, to publish.
    func observe(_ event: DeliveryEvent, atMillis now: Int64) -> [(FeedStage, [String: JSONValue])]
    {
        lock.withLock {
            switch event {
            case .sent(let destination, let dataset, _, _, _, _):
                let name = Self.name(destination: destination, dataset: dataset)
                var entry = entries[name, default: Entry()]
                defer {
                    entry.lastSuccessMillis = now
                    entry.failuresInARow = 0
                    entry.downSinceMillis = nil
                    entries[name] = entry
                }
                guard let since = entry.downSinceMillis else { return [] }
                return [
                    (
                        .recovered,
                        [
                            "destination": .string(name),
                            "down_for_ms": .integer(now - since),
                            "failed_attempts": .integer(Int64(entry.failuresInARow)),
                        ]
                    )
                ]
            case .attemptFailed(
                let destination, let dataset, _, let status, let code, let subcode, let message, _,
                let failureClass):
                let name = Self.name(destination: destination, dataset: dataset)
                var entry = entries[name, default: Entry()]
                entry.lastError = .object([
                    "at": .string(FeedRecord.timestamp(now)),
                    "status": status.map { .integer(Int64($0)) } ?? .null,
                    "code": code.map { .integer(Int64($0)) } ?? .null,
                    "subcode": subcode.map { .integer(Int64($0)) } ?? .null,
                    "message": .string(message),
                ])
                // Only a failure that says the destination may be unreachable counts toward an
                // outage: a batch refused for an invalid event proves the destination is up.
                guard failureClass == .transient else {
                    entries[name] = entry
                    return []
                }
                entry.failuresInARow += 1
                var records: [(FeedStage, [String: JSONValue])] = []
                if entry.downSinceMillis == nil && entry.failuresInARow >= Self.outageThreshold {
                    entry.downSinceMillis = now
                    records.append(
                        (
                            .outage,
                            [
                                "destination": .string(name),
                                "failed_attempts": .integer(Int64(entry.failuresInARow)),
                                "status": status.map { .integer(Int64($0)) } ?? .null,
                                "message": .string(message),
                            ]
                        ))
                }
                entries[name] = entry
                return records
            case .paused(let destination, let reason, _):
                paused[destination] = reason
                return []
            case .resumed(let destination):
                paused[destination] = nil
                return []
            case .expired, .deadLettered, .bisected:
                return []
            }
        }
    }

    /// One object per destination: every configured dataset and the CRM, even before any
    /// delivery, so the pane lists what exists rather than what happened to be used.
    func snapshot(datasets: [String], crm: Bool, backlog: [String: Int], crmBacklog: Int)
        -> [JSONValue]
    {
        let (entries, paused) = lock.withLock { (self.entries, self.paused) }
        func describe(_ name: String, kind: String, dataset: String?, backlog: Int) -> JSONValue {
            let entry = entries[name] ?? Entry()
            return .object([
                "name": .string(name), "kind": .string(kind),
                "dataset": dataset.map(JSONValue.string) ?? .null,
                "last_success_at": entry.lastSuccessMillis.map { .string(FeedRecord.timestamp($0)) }
                    ?? .null,
                "last_error": entry.lastError ?? .null,
                "backlog": .integer(Int64(backlog)),
                "paused": .bool(paused[kind] != nil),
                "paused_reason": paused[kind].map(JSONValue.string) ?? .null,
                "down_since": entry.downSinceMillis.map { .string(FeedRecord.timestamp($0)) }
                    ?? .null,
            ])
        }
        var list = datasets.map { dataset in
            describe(
                "capi \(dataset)", kind: "capi", dataset: dataset, backlog: backlog[dataset] ?? 0)
        }
        if crm { list.append(describe("crm", kind: "crm", dataset: nil, backlog: crmBacklog)) }
        return list
    }
}
