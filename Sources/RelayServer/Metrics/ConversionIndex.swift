import Foundation

/// What the metrics need to know about a conversion after it was acknowledged: its labels and
/// when it was journaled, keyed by event_id; thread-safe and bounded.
///
/// The delivery workers report event ids only. Rather than read each delivered conversion
/// back from the journal, the relay remembers the last `capacity` it acknowledged. A
/// conversion journaled before this process started (or pushed out by newer ones) is counted
/// with event name `other` and has no delivery latency observed.
final class ConversionIndex: @unchecked Sendable {
    struct Entry: Sendable, Equatable {
        var eventName: String
        var dataset: String
        /// Epoch milliseconds.
        var acknowledgedAtMillis: Int64
    }

    let capacity: Int
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var entries: [String: Entry] = [:]
    /// Guarded by `lock`: insertion order, for evicting the oldest.
    private var order: [String] = []
    /// Guarded by `lock`: where the oldest live id sits in `order`.
    private var head = 0

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func remember(_ eventID: String, _ entry: Entry) {
        lock.withLock {
            if entries.updateValue(entry, forKey: eventID) == nil {
                order.append(eventID)
            }
            while entries.count > capacity {
                entries[order[head]] = nil
                head += 1
            }
            // Compact now and then, so that `order` does not grow with every id ever seen.
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    func entry(_ eventID: String) -> Entry? {
        lock.withLock { entries[eventID] }
    }
}
