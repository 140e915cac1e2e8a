import Synchronization

/// Counts open connections across all loops against `maxConnections`.
///
/// An atomic rather than a lock: the accepting loop reserves a slot for every new connection
/// and any loop releases one on close, both on hot paths.
final class ConnectionSlots: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    var current: Int { count.load(ordering: .relaxed) }

    /// Takes a slot if one is free.
    func reserve() -> Bool {
        var observed = count.load(ordering: .relaxed)
        while observed < limit {
            let (exchanged, actual) = count.compareExchange(
                expected: observed, desired: observed + 1, ordering: .relaxed)
            if exchanged { return true }
            observed = actual
        }
        return false
    }

    func release() {
        let previous = count.subtract(1, ordering: .relaxed).oldValue
        precondition(previous > 0, "connection slot released more often than reserved")
    }
}
