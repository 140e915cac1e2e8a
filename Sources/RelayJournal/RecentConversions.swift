import Foundation
import RelayCore

/// The conversions the relay journaled last, kept as made, so that delivery does not decode
/// their stored JSON again moments later.
///
/// Each new conversion is read back for CAPI and again for the CRM within a delivery tick or
/// two, and decoding its body with `JSONDecoder` was about an eighth of `serve`'s instructions
/// at saturation (callgrind under `capi-relay-bench ingest`). The stored body stays the
/// record: a conversion is remembered only once its transaction has committed, its body never
/// changes after, and one that has left this window (a backlog, a restart, another process's
/// append) is decoded as before. What is sent from memory is what the row decodes to, byte
/// for byte (`SQLiteJournalTests`): the row may spell a value differently (480.0 as 480, which
/// decodes as an integer), never as other JSON.
final class RecentConversions: @unchecked Sendable {
    /// At 5,000 conversions a second, two seconds' worth: far more than a delivery tick of
    /// 0.1 s reads. `serve`'s peak RSS in `capi-relay-bench ingest` went from 69 to 78 MiB.
    static let defaultCapacity = 8192

    private let capacity: Int
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var byID: [Int64: Conversion] = [:]
    /// Guarded by `lock`: ids in the order remembered, the oldest at `oldest`.
    private var order: [Int64] = []
    private var oldest = 0

    init(capacity: Int = RecentConversions.defaultCapacity) {
        precondition(capacity > 0, "a window of recent conversions needs room for one")
        self.capacity = capacity
        order.reserveCapacity(capacity)
    }

    /// Remembers conversions whose transaction has committed, forgetting the oldest beyond
    /// the capacity.
    func remember(_ made: [(id: Int64, conversion: Conversion)]) {
        guard !made.isEmpty else { return }
        lock.withLock {
            for (id, conversion) in made {
                if order.count < capacity {
                    order.append(id)
                } else {
                    byID[order[oldest]] = nil
                    order[oldest] = id
                    oldest = (oldest + 1) % capacity
                }
                byID[id] = conversion
            }
        }
    }

    func conversion(id: Int64) -> Conversion? {
        lock.withLock { byID[id] }
    }
}

/// The conversions one append job made, for ``RecentConversions`` once it commits. A job
/// that runs again (its batch failed and is retried one job at a time) starts over.
final class MadeConversions: @unchecked Sendable {
    private(set) var items: [(id: Int64, conversion: Conversion)] = []

    func add(_ id: Int64, _ conversion: Conversion) {
        items.append((id, conversion))
    }

    func startOver() {
        items.removeAll(keepingCapacity: true)
    }
}
