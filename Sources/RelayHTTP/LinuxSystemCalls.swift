import Glibc

/// The epoll and eventfd calls, resolved from the C library at run time.
///
/// Glibc's Swift module map leaves out `<sys/epoll.h>` and `<sys/eventfd.h>`, and this target
/// may only import Glibc and Foundation (a C shim target would mean another module in a shared
/// manifest). The functions are part of the stable glibc ABI, so looking them up by name in the
/// already-loaded libc is safe; the rejected alternative, `poll(2)`, rescans every descriptor
/// on each wake-up.
struct LinuxSystemCalls: Sendable {
    typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    typealias EpollControl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32
    typealias EventFD = @convention(c) (UInt32, Int32) -> Int32

    let epollCreate1: EpollCreate1
    let epollControl: EpollControl
    let epollWait: EpollWait
    let eventFD: EventFD

    /// Resolved once per process.
    static let shared: Result<LinuxSystemCalls, HTTPServerError> = resolve()

    private static func resolve() -> Result<LinuxSystemCalls, HTTPServerError> {
        // nil asks for the symbols of the program and the libraries already loaded, libc among
        // them; nothing new is loaded.
        guard let library = dlopen(nil, RTLD_NOW) else {
            return .failure(HTTPServerError(.systemResources, "cannot inspect the C library"))
        }
        func lookUp<Function>(_ name: String, as type: Function.Type) -> Function? {
            guard let symbol = dlsym(library, name) else { return nil }
            return unsafeBitCast(symbol, to: type)
        }
        guard let create = lookUp("epoll_create1", as: EpollCreate1.self),
            let control = lookUp("epoll_ctl", as: EpollControl.self),
            let wait = lookUp("epoll_wait", as: EpollWait.self),
            let eventFD = lookUp("eventfd", as: EventFD.self)
        else {
            return .failure(
                HTTPServerError(
                    .systemResources, "the C library lacks epoll or eventfd; Linux is required"))
        }
        return .success(
            LinuxSystemCalls(
                epollCreate1: create, epollControl: control, epollWait: wait, eventFD: eventFD))
    }
}

/// `strerror` for the current or a given `errno`, for messages a person reads.
func systemErrorText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}
