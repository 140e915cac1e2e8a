import CLinux
import Glibc

/// One epoll instance: the set of descriptors an event loop waits on.
///
/// Level-triggered on purpose: a connection reads at most one buffer per wake-up and the
/// kernel reports it again if more is waiting, which keeps busy connections from starving
/// quiet ones without the bookkeeping edge-triggering needs.
struct Epoll {
    struct Events: OptionSet, Sendable {
        let rawValue: UInt32

        static let input = Events(rawValue: EPOLLIN.rawValue)
        static let output = Events(rawValue: EPOLLOUT.rawValue)
        static let error = Events(rawValue: EPOLLERR.rawValue)
        static let hangUp = Events(rawValue: EPOLLHUP.rawValue)
        static let readHangUp = Events(rawValue: EPOLLRDHUP.rawValue)
    }

    /// Room for the events one `epoll_wait` returns.
    final class EventBuffer {
        let capacity: Int
        let storage: UnsafeMutablePointer<epoll_event>

        init(capacity: Int) {
            self.capacity = capacity
            self.storage = .allocate(capacity: capacity)
        }

        deinit {
            storage.deallocate()
        }

        /// The token registered with the descriptor and the events that fired.
        subscript(index: Int) -> (token: UInt64, events: Events) {
            precondition(index >= 0 && index < capacity, "epoll event index \(index) out of range")
            let event = storage[index]
            return (event.data.u64, Events(rawValue: event.events))
        }
    }

    let descriptor: Int32

    init() throws(HTTPServerError) {
        let descriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard descriptor >= 0 else {
            throw HTTPServerError(
                .systemResources, "cannot create an epoll instance: \(systemErrorText())")
        }
        self.descriptor = descriptor
    }

    /// Returns 0, or the `errno` of the failure.
    @discardableResult
    func add(_ fd: Int32, events: Events, token: UInt64) -> Int32 {
        control(EPOLL_CTL_ADD, fd, events: events, token: token)
    }

    @discardableResult
    func modify(_ fd: Int32, events: Events, token: UInt64) -> Int32 {
        control(EPOLL_CTL_MOD, fd, events: events, token: token)
    }

    func remove(_ fd: Int32) {
        // Failure means the descriptor was not registered; there is nothing left to undo.
        _ = control(EPOLL_CTL_DEL, fd, events: [], token: 0)
    }

    /// Waits for events. Returns how many were stored, or -1 with `errno` set.
    ///
    /// - Parameter timeoutMilliseconds: -1 waits indefinitely.
    func wait(into buffer: EventBuffer, timeoutMilliseconds: Int32) -> Int32 {
        epoll_wait(descriptor, buffer.storage, Int32(buffer.capacity), timeoutMilliseconds)
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    private func control(_ operation: Int32, _ fd: Int32, events: Events, token: UInt64) -> Int32 {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = token
        return epoll_ctl(descriptor, operation, fd, &event) == 0 ? 0 : errno
    }
}
