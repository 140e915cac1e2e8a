/// Why an `HTTPServer` could not start.
///
/// `code` is for programs (and is short enough for a metric label); `message` is for the
/// operator and names the address, setting or system call involved.
public struct HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case cannotListen = "cannot_listen"
            case invalidConfiguration = "invalid_configuration"
            case alreadyStarted = "already_started"
            case systemResources = "system_resources"
        }

        private let base: Base

        /// The address could not be resolved, bound or listened on (in use, not local, denied).
        public static let cannotListen = Code(base: .cannotListen)
        /// A configuration value is out of range; the message names it.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// `start()` was called on a server that was already started (or stopped).
        public static let alreadyStarted = Code(base: .alreadyStarted)
        /// The kernel refused an epoll instance, an eventfd or a thread.
        public static let systemResources = Code(base: .systemResources)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
