import Foundation

/// SIGINT and SIGTERM as an event, for commands that stop cleanly when asked.
///
/// The signals are unblocked first: a process inherits its parent's blocked-signal mask, and a
/// supervisor or test runner that blocks SIGINT would otherwise make Ctrl-C do nothing. The
/// default action is replaced by a dispatch source, so the handler runs as ordinary code on a
/// queue rather than inside a signal handler.
public final class StopSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening; `onStop` runs (on a global queue) for every SIGINT or SIGTERM.
    public init(onStop: @escaping @Sendable (Int32) -> Void) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)

        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { onStop(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops listening and restores the default actions.
    public func cancel() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// Blocks until SIGINT or SIGTERM arrives.
    public static func wait() {
        let stop = DispatchSemaphore(value: 0)
        let signals = StopSignals { _ in stop.signal() }
        stop.wait()
        signals.cancel()
    }
}
