import Foundation

/// A fixed map from folded lookup keys (``CountryTable/foldedKey(_:)``: lowercase a–z only) to
/// short values, looked up with the key's bytes where they are.
///
/// The country, state and gender rules each look a value up on every event. As a
/// `[String: String]` that cost building a String for the key and seeding and running SipHash
/// over it, more than the rest of those rules together. The keys are fixed when the table is
/// built and are not chosen by whoever sends an event, so the flood-resistance SipHash buys is
/// not needed: FNV-1a over the bytes and linear probing are enough. Storage is allocated once
/// and never freed, as in ``LatinScalarTable``.
struct FoldedKeyTable: @unchecked Sendable {
    private struct Entry {
        var keyStart: Int32
        var keyCount: Int32
        var valueIndex: Int32
    }

    /// Entry index per slot, -1 for an empty slot; the count is a power of two.
    private let slots: UnsafePointer<Int32>
    private let slotMask: Int
    private let entries: UnsafePointer<Entry>
    /// Every key's bytes, back to back.
    private let keyBytes: UnsafePointer<UInt8>
    private let values: UnsafePointer<String>

    init(_ map: [String: String]) {
        var slotCount = 16
        while slotCount < 2 * map.count { slotCount *= 2 }
        var slots = [Int32](repeating: -1, count: slotCount)
        var entries: [Entry] = []
        var keyBytes: [UInt8] = []
        var values: [String] = []
        for (key, value) in map.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(key.utf8)
            var slot = Self.hash(bytes) & (slotCount - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (slotCount - 1) }
            slots[slot] = Int32(entries.count)
            entries.append(
                Entry(
                    keyStart: Int32(keyBytes.count), keyCount: Int32(bytes.count),
                    valueIndex: Int32(values.count)))
            keyBytes += bytes
            values.append(value)
        }
        self.slots = Self.immortal(slots)
        self.slotMask = slotCount - 1
        self.entries = Self.immortal(entries)
        self.keyBytes = Self.immortal(keyBytes)
        self.values = Self.immortal(values)
    }

    /// The value for a key's bytes, or nil.
    subscript(key: UnsafeBufferPointer<UInt8>) -> String? {
        var slot = Self.hash(key) & slotMask
        while true {
            let index = slots[slot]
            guard index >= 0 else { return nil }
            let entry = entries[Int(index)]
            if Int(entry.keyCount) == key.count,
                key.count == 0
                    || memcmp(keyBytes + Int(entry.keyStart), key.baseAddress!, key.count) == 0
            {
                return values[Int(entry.valueIndex)]
            }
            slot = (slot + 1) & slotMask
        }
    }

    /// The value for a key, or nil.
    subscript(key: String) -> String? {
        var key = key
        return key.withUTF8 { self[$0] }
    }

    private static func hash<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3
        }
        return Int(truncatingIfNeeded: hash ^ (hash >> 32))
    }

    private static func immortal<Element>(_ array: [Element]) -> UnsafePointer<Element> {
        let storage = UnsafeMutablePointer<Element>.allocate(capacity: max(array.count, 1))
        storage.initialize(from: array, count: array.count)
        return UnsafePointer(storage)
    }
}
