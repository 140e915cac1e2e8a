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
    /// Guarded by `lock`: each entry with the number it was remembered under.
    private var entries: [String: (entry: Entry, number: Int)] = [:]
    /// Guarded by `lock`: ids in the order they were remembered, with that number, so that an
    /// id remembered again is not evicted for its earlier, older copy.
    private var order: [(eventID: String, number: Int)] = []
    /// Guarded by `lock`: where the oldest live id sits in `order`.
    private var head = 0
    /// Guarded by `lock`.
    private var nextNumber = 0

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func remember(_ eventID: String, _ entry: Entry) {
        lock.withLock {
            entries[eventID] = (entry, nextNumber)
            order.append((eventID, nextNumber))
            nextNumber += 1
            while entries.count > capacity {
                let oldest = order[head]
                if entries[oldest.eventID]?.number == oldest.number {
                    entries[oldest.eventID] = nil
                }
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
        lock.withLock { entries[eventID]?.entry }
    }
}
