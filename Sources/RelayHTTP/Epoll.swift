import Glibc

/// One epoll instance: the set of descriptors an event loop waits on.
///
/// Level-triggered on purpose: a connection reads at most one buffer per wake-up and the
/// kernel reports it again if more is waiting, which keeps busy connections from starving
/// quiet ones without the bookkeeping edge-triggering needs.
struct Epoll {
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32

        // Values from <sys/epoll.h>, identical on every Linux architecture.
        static let input = Events(rawValue: 0x001)
        static let output = Events(rawValue: 0x004)
        static let error = Events(rawValue: 0x008)
        static let hangUp = Events(rawValue: 0x010)
        static let readHangUp = Events(rawValue: 0x2000)
    }

    /// Room for the events one `epoll_wait` returns.
    ///
    /// `struct epoll_event` is declared packed on x86-64 (a 4-byte mask, then the 8-byte data at
    /// offset 4) and naturally aligned elsewhere (data at offset 8), so it is laid out by hand.
    final class EventBuffer {
        #if arch(x86_64)
            static let stride = 12
            static let dataOffset = 4
        #else
            static let stride = 16
            static let dataOffset = 8
        #endif

        let capacity: Int
        let storage: UnsafeMutableRawPointer

        init(capacity: Int) {
            self.capacity = capacity
            self.storage = .allocate(byteCount: capacity * Self.stride, alignment: 8)
        }

        deinit {
            storage.deallocate()
        }

        /// The token registered with the descriptor and the events that fired.
        subscript(index: Int) -> (token: UInt64, events: Events) {
            precondition(index >= 0 && index < capacity, "epoll event index \(index) out of range")
            let base = index * Self.stride
            let mask = storage.loadUnaligned(fromByteOffset: base, as: UInt32.self)
            let token = storage.loadUnaligned(
                fromByteOffset: base + Self.dataOffset, as: UInt64.self)
            return (token, Events(rawValue: mask))
        }
    }

    private static let controlAdd: Int32 = 1
    private static let controlRemove: Int32 = 2
    private static let controlModify: Int32 = 3

    let descriptor: Int32
    private let calls: LinuxSystemCalls

    init(calls: LinuxSystemCalls) throws(HTTPServerError) {
        let descriptor = calls.epollCreate1(O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HTTPServerError(
                .systemResources, "cannot create an epoll instance: \(systemErrorText())")
        }
        self.descriptor = descriptor
        self.calls = calls
    }

    /// Returns 0, or the `errno` of the failure.
    @discardableResult
    func add(_ fd: Int32, events: Events, token: UInt64) -> Int32 {
        control(Self.controlAdd, fd, events: events, token: token)
    }

    @discardableResult
    func modify(_ fd: Int32, events: Events, token: UInt64) -> Int32 {
        control(Self.controlModify, fd, events: events, token: token)
    }

    func remove(_ fd: Int32) {
        // Failure means the descriptor was not registered; there is nothing left to undo.
        _ = control(Self.controlRemove, fd, events: [], token: 0)
    }

    /// Waits for events. Returns how many were stored, or -1 with `errno` set.
    ///
    /// - Parameter timeoutMilliseconds: -1 waits indefinitely.
    func wait(into buffer: EventBuffer, timeoutMilliseconds: Int32) -> Int32 {
        calls.epollWait(descriptor, buffer.storage, Int32(buffer.capacity), timeoutMilliseconds)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    private func control(_ operation: Int32, _ fd: Int32, events: Events, token: UInt64) -> Int32 {
        var event = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &event) { raw in
            raw.storeBytes(of: events.rawValue, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: token, toByteOffset: EventBuffer.dataOffset, as: UInt64.self)
            return calls.epollControl(descriptor, operation, fd, raw.baseAddress) == 0 ? 0 : errno
        }
    }
}
