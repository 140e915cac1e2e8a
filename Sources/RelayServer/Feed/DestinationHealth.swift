import Foundation
import RelayCore
import RelayFeed
import RelayDelivery

/// The last success and last error per destination (each CAPI dataset, and the CRM), from the
/// delivery workers' events; what the console's health pane shows.
final class DestinationHealth: @unchecked Sendable {
    struct Entry {
        var lastSuccessMillis: Int64?
        var lastError: JSONValue?
    }

    private let lock = NSLock()
    /// Guarded by `lock`; keyed by destination name (`capi 880…`, `crm`).
    private var entries: [String: Entry] = [:]

    static func name(destination: String, dataset: String) -> String {
        destination == "crm" ? "crm" : "capi \(dataset)"
    }

    func observe(_ event: DeliveryEvent, atMillis now: Int64) {
        lock.withLock {
            switch event {
            case .sent(let destination, let dataset, _, _, _, _):
                entries[Self.name(destination: destination, dataset: dataset), default: Entry()]
                    .lastSuccessMillis = now
            case .attemptFailed(
                let destination, let dataset, _, let status, let code, let subcode, let message, _):
                entries[Self.name(destination: destination, dataset: dataset), default: Entry()]
                    .lastError = .object([
                        "at": .string(FeedRecord.timestamp(now)),
                        "status": status.map { .integer(Int64($0)) } ?? .null,
                        "code": code.map { .integer(Int64($0)) } ?? .null,
                        "subcode": subcode.map { .integer(Int64($0)) } ?? .null,
                        "message": .string(message),
                    ])
            case .expired, .deadLettered:
                break
            }
        }
    }

    /// One object per destination: every configured dataset and the CRM, even before any
    /// delivery, so the pane lists what exists rather than what happened to be used.
    func snapshot(datasets: [String], crm: Bool, backlog: [String: Int], crmBacklog: Int)
        -> [JSONValue]
    {
        let entries = lock.withLock { self.entries }
        func describe(_ name: String, kind: String, dataset: String?, backlog: Int) -> JSONValue {
            let entry = entries[name] ?? Entry()
            return .object([
                "name": .string(name), "kind": .string(kind),
                "dataset": dataset.map(JSONValue.string) ?? .null,
                "last_success_at": entry.lastSuccessMillis.map { .string(FeedRecord.timestamp($0)) }
                    ?? .null,
                "last_error": entry.lastError ?? .null,
                "backlog": .integer(Int64(backlog)),
                "paused": false,
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
