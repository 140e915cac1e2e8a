import CNcursesw
import Glibc
import Synchronization

/// Restores the terminal on every way out: a normal quit, Ctrl-C, SIGTERM, SIGHUP, and a crash.
///
/// Stop signals only set a flag that the console's loop checks (it then quits as if `q` were
/// pressed), because curses is not safe to call from a signal handler in general. A crash
/// signal cannot wait for the loop, so its handler does the minimum: `endwin`, put stderr back,
/// say where the log is, and re-raise so the process still dies as it would have.
enum TerminalGuard {
    /// Set by SIGINT, SIGTERM and SIGHUP.
    static let stopRequested = Atomic<Bool>(false)
    /// Whether curses owns the screen, so that the crash path and atexit know to restore it.
    static let active = Atomic<Bool>(false)
    /// The terminal's stderr while it is pointed at the console log; -1 when not redirected.
    static let savedStderr = Atomic<Int32>(-1)

    /// Installs the handlers and points stderr at `logDescriptor`, so that nothing (not even a
    /// Swift runtime error) writes over the screen while curses owns it.
    static func begin(logDescriptor: Int32) {
        savedStderr.store(dup(STDERR_FILENO), ordering: .sequentiallyConsistent)
        dup2(logDescriptor, STDERR_FILENO)
        active.store(true, ordering: .sequentiallyConsistent)

        // A parent may have started the console with signals blocked (some test runners and
        // supervisors do); blocked, SIGTERM would never stop it and SIGWINCH never resize it.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for signal in [
            SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
            SIGABRT, SIGFPE,
        ] {
            sigaddset(&wanted, signal)
        }
        sigprocmask(SIG_UNBLOCK, &wanted, nil)

        for signal in [SIGINT, SIGTERM, SIGHUP] {
            _ = Glibc.signal(signal) { _ in
                TerminalGuard.stopRequested.store(true, ordering: .relaxed)
            }
        }
        for signal in [SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGFPE] {
            _ = Glibc.signal(signal) { number in
                TerminalGuard.restore()
                let message = "capi-relay console: crashed (signal \(number)); terminal restored\n"
                _ = message.utf8CString.withUnsafeBufferPointer {
                    write(STDERR_FILENO, $0.baseAddress, $0.count - 1)
                }
                Glibc.signal(number, SIG_DFL)
                raise(number)
            }
        }
        atexit { TerminalGuard.restore() }
    }

    /// Ends curses and gives stderr back; safe to call more than once.
    static func restore() {
        guard active.exchange(false, ordering: .sequentiallyConsistent) else { return }
        endwin()
        let saved = savedStderr.exchange(-1, ordering: .sequentiallyConsistent)
        if saved >= 0 {
            dup2(saved, STDERR_FILENO)
            close(saved)
        }
    }
}
