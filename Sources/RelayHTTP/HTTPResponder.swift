import Synchronization

/// Delivers the response to one request; call `respond(_:)` exactly once, from any thread.
///
/// The relay answers a webhook only after its events are durably journaled, so the response is
/// usually posted from a database thread well after the handler returned. Responder copies
/// share one slot: the first `respond` wins and later calls are ignored, so a handler racing a
/// timeout against a completion cannot produce two responses.
///
/// A responder the server created that is dropped without ever responding answers 500, so that
/// a handler bug costs one request rather than a connection stuck until the server stops.
public struct HTTPResponder: Sendable {
    private let slot: Slot

    /// A responder that hands the response to `deliver`, for testing handlers without a server.
    /// Dropping it without responding calls nothing.
    public init(_ deliver: @escaping @Sendable (HTTPResponse) -> Void) {
        self.slot = Slot(deliver: deliver, responseIfDropped: nil)
    }

    init(
        responseIfDropped: HTTPResponse?, deliver: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        self.slot = Slot(deliver: deliver, responseIfDropped: responseIfDropped)
    }

    /// Sends the response. Only the first call on any copy of this responder has an effect.
    public func respond(_ response: HTTPResponse) {
        slot.fulfil(with: response)
    }

    /// Whether `respond` has been called on this responder or a copy of it.
    public var hasResponded: Bool { slot.isFulfilled }

    private final class Slot: Sendable {
        let deliver: @Sendable (HTTPResponse) -> Void
        let responseIfDropped: HTTPResponse?
        let fulfilled = Atomic<Bool>(false)

        init(
            deliver: @escaping @Sendable (HTTPResponse) -> Void, responseIfDropped: HTTPResponse?
        ) {
            self.deliver = deliver
            self.responseIfDropped = responseIfDropped
        }

        var isFulfilled: Bool { fulfilled.load(ordering: .acquiring) }

        func fulfil(with response: HTTPResponse) {
            let (exchanged, _) = fulfilled.compareExchange(
                expected: false, desired: true, ordering: .acquiringAndReleasing)
            if exchanged {
                deliver(response)
            }
        }

        deinit {
            if let responseIfDropped, !fulfilled.load(ordering: .acquiring) {
                deliver(responseIfDropped)
            }
        }
    }
}

/// Handles every request the server receives; routing is the handler's job.
///
/// Called on an event-loop thread, which serves other connections too: do not block in it.
/// Hand slow work to another thread and call the responder from there.
public typealias HTTPHandler = @Sendable (HTTPRequest, HTTPResponder) -> Void
