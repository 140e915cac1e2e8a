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

    /// What one remembered conversion costs: a 64-bit key and 24 bytes, rather than its
    /// event id and label strings. With strings, the 100,000 entries of the default capacity
    /// held about 37 MiB of the relay's memory once full (`capi-relay-bench ingest`).
    private struct Slot {
        var label: Int32
        var acknowledgedAtMillis: Int64
        /// When it was remembered, so that an id remembered again outlives its older copy.
        var number: Int
    }

    /// Distinct (event name, dataset) pairs kept; the metrics' own label sets are smaller.
    static let maxLabels = 4_096

    let capacity: Int
    private let lock = NSLock()
    /// Guarded by `lock`: by the event id's hash (seeded per process, as `Hasher` is; two
    /// ids sharing one would only share labels).
    private var slots: [Int: Slot] = [:]
    /// Guarded by `lock`: the keys in the order they were remembered, a ring of `capacity`.
    private var ring: [(key: Int, number: Int)] = []
    /// Guarded by `lock`: where the oldest key sits in `ring` once it is full.
    private var head = 0
    /// Guarded by `lock`.
    private var nextNumber = 0
    /// Guarded by `lock`: each label pair once, and its place in `labels`.
    private var labels: [(eventName: String, dataset: String)] = []
    private var labelNumbers: [String: [String: Int32]] = [:]

    init(capacity: Int = 100_000) {
        self.capacity = max(capacity, 1)
    }

    func remember(_ eventID: String, _ entry: Entry) {
        let key = eventID.hashValue
        lock.withLock {
            guard let label = label(entry.eventName, entry.dataset) else { return }
            let number = nextNumber
            nextNumber += 1
            slots[key] = Slot(
                label: label, acknowledgedAtMillis: entry.acknowledgedAtMillis, number: number)
            guard ring.count == capacity else {
                ring.append((key, number))
                return
            }
            let oldest = ring[head]
            if slots[oldest.key]?.number == oldest.number {
                slots[oldest.key] = nil
            }
            ring[head] = (key, number)
            head = (head + 1) % capacity
        }
    }

    func entry(_ eventID: String) -> Entry? {
        let key = eventID.hashValue
        return lock.withLock {
            guard let slot = slots[key] else { return nil }
            let label = labels[Int(slot.label)]
            return Entry(
                eventName: label.eventName, dataset: label.dataset,
                acknowledgedAtMillis: slot.acknowledgedAtMillis)
        }
    }

    /// The pair's number, new if need be; nil once `maxLabels` are taken (the conversion then
    /// counts as `other`, as one this process never saw). Called with `lock` held.
    private func label(_ eventName: String, _ dataset: String) -> Int32? {
        if let number = labelNumbers[eventName]?[dataset] { return number }
        guard labels.count < Self.maxLabels else { return nil }
        let number = Int32(labels.count)
        labels.append((eventName, dataset))
        labelNumbers[eventName, default: [:]][dataset] = number
        return number
    }
}
