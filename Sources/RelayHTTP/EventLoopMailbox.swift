import CLinux
import Foundation
import Synchronization

/// The only way into an event loop from another thread: messages queued under a lock, plus an
/// eventfd that wakes the loop out of `epoll_wait`.
///
/// The eventfd is written only when the queue goes from empty to non-empty, so a burst of
/// responses costs one wake-up. Once the loop has stopped, `post` refuses messages, so a late
/// response from a database thread is dropped instead of written to a reused descriptor.
final class EventLoopMailbox: Sendable {
    enum Message: Sendable {
        /// A connection accepted by another loop, now owned by this one.
        case adopt(descriptor: Int32, remoteAddress: String)
        case response(connectionID: UInt64, HTTPResponse)
        /// Close the listening socket, then signal.
        case stopAccepting(DispatchSemaphore)
        case shutdown
    }

    private struct Contents {
        var messages: [Message] = []
        var isClosed = false
    }

    /// Registered by the loop with its epoll instance; readable while a wake-up is pending.
    let wakeDescriptor: Int32
    /// Guarded by the mutex: the queue and whether the loop still accepts messages. The eventfd
    /// is also written and closed only under it, so a post can never hit a closed descriptor.
    private let contents = Mutex(Contents())

    init() throws(HTTPServerError) {
        let descriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard descriptor >= 0 else {
            throw HTTPServerError(
                .systemResources, "cannot create an eventfd: \(systemErrorText())")
        }
        self.wakeDescriptor = descriptor
    }

    /// Queues a message for the loop; false when the loop has stopped, in which case the caller
    /// still owns whatever the message carries (for example a descriptor to close).
    @discardableResult
    func post(_ message: Message) -> Bool {
        contents.withLock { contents in
            guard !contents.isClosed else { return false }
            contents.messages.append(message)
            if contents.messages.count == 1 {
                var one: UInt64 = 1
                // Can only fail with EAGAIN when the counter is near overflow, which means a
                // wake-up is already pending anyway.
                _ = write(wakeDescriptor, &one, MemoryLayout<UInt64>.size)
            }
            return true
        }
    }

    /// Takes every queued message, oldest first. Called on the loop thread.
    func takeAll() -> [Message] {
        contents.withLock { contents in
            let messages = contents.messages
            contents.messages = []
            return messages
        }
    }

    /// Resets the eventfd after it woke the loop. Called on the loop thread.
    func acknowledgeWake() {
        var count: UInt64 = 0
        _ = read(wakeDescriptor, &count, MemoryLayout<UInt64>.size)
    }

    /// Refuses further messages and closes the eventfd. Returns what was still queued, so the
    /// loop can close adopted descriptors and release waiters.
    func close() -> [Message] {
        contents.withLock { contents in
            guard !contents.isClosed else { return [] }
            contents.isClosed = true
            _ = Glibc.close(wakeDescriptor)
            let messages = contents.messages
            contents.messages = []
            return messages
        }
    }
}
