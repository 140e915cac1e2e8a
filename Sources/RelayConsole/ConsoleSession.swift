import Foundation
import RelayCore

/// The console's driver: one loop that polls the feed socket and the keyboard, feeds both to
/// `ConsoleState`, performs the actions it returns and redraws.
///
/// One thread on purpose: the state is a plain value owned by this loop, so no lock is needed,
/// and `poll` wakes the loop for whichever of the socket and the keyboard is ready first.
struct ConsoleSession {
    let options: ConsoleOptions
    let catalog: ThemeCatalog
    let log: ConsoleLog
    let colorAllowed: Bool
    var state: ConsoleState
    var client: FeedClient?
    var backoff = ReconnectBackoff()
    /// Seconds since 1970 of the next connection attempt.
    var nextAttempt = 0.0
    /// The last notice written to the log, so that each is written once.
    var loggedNotice: ConsoleState.Notice?

    /// Redraws at least this often (seconds) for the clock and the retry countdown.
    static let idleRedraw = 0.5
    /// And at most this often while records pour in, so drawing never starves reading.
    static let busyRedraw = 0.05

    init(
        options: ConsoleOptions, catalog: ThemeCatalog, themeIndex: Int, log: ConsoleLog,
        colorAllowed: Bool
    ) {
        self.options = options
        self.catalog = catalog
        self.log = log
        self.colorAllowed = colorAllowed
        state = ConsoleState(
            bindings: BindingTable(readOnly: options.readOnly), themeNames: catalog.names,
            themeIndex: themeIndex)
        state.socketPath = options.socketPath
        state.logPath = log.path
    }

    mutating func run() {
        TerminalGuard.begin(logDescriptor: log.descriptor)
        let terminal = CursesTerminal(colorAllowed: colorAllowed)
        defer { terminal.end() }
        terminal.apply(catalog.themes[state.themeIndex])
        log.logger.info(
            "terminal ready",
            [
                ("size", "\(terminal.columns)x\(terminal.rows)"),
                ("color", String(terminal.usesColor)),
                ("utf8", String(terminal.isUTF8)),
            ])

        var lastDraw = 0.0
        var dirty = true
        var quit = false
        while !quit && !TerminalGuard.stopRequested.load(ordering: .relaxed) {
            let now = Date().timeIntervalSince1970
            if client == nil && now >= nextAttempt {
                connect(now: now)
                dirty = true
            }

            // Wait for the socket or a key, but wake for the clock and the retry anyway.
            var descriptors = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
            if let client {
                descriptors.append(pollfd(fd: client.descriptor, events: Int16(POLLIN), revents: 0))
            }
            _ = poll(&descriptors, nfds_t(descriptors.count), 100)
            let after = Date().timeIntervalSince1970
            if descriptors.count > 1 && descriptors[1].revents != 0 {
                readFeed(now: after)
                dirty = true
            }

            for key in terminal.readKeys() {
                dirty = true
                for action in state.handle(key, now: after) {
                    switch action {
                    case .quit: quit = true
                    case .send(let line): send(line, now: after)
                    case .applyTheme(let name):
                        if let theme = catalog.theme(named: name) { terminal.apply(theme) }
                    }
                }
            }

            // The status line may cut a notice; the log has it whole.
            if let notice = state.notice, notice != loggedNotice {
                let metadata = [("text", notice.fullText)]
                if notice.isWarning {
                    log.logger.warning("console notice", metadata)
                } else {
                    log.logger.info("console notice", metadata)
                }
                loggedNotice = notice
            }

            let renderer = ConsoleRenderer(
                width: terminal.columns, height: terminal.rows, now: after,
                theme: catalog.themes[state.themeIndex], glyphs: terminal.isUTF8 ? .unicode : .ascii
            )
            state.pageSize = renderer.flowHeight(for: state)
            let interval = dirty ? Self.busyRedraw : Self.idleRedraw
            if after - lastDraw >= interval {
                terminal.draw(renderer.render(state))
                lastDraw = after
                dirty = false
            }
        }
        log.logger.info("console quitting", [("signal", String(!quit))])
    }

    private mutating func connect(now: Double) {
        do {
            client = try FeedClient(path: options.socketPath)
            state.connected()
            log.logger.info("feed connected", [("socket", options.socketPath)])
        } catch {
            lose(reason: error.description, now: now)
        }
    }

    private mutating func readFeed(now: Double) {
        guard let client else { return }
        do {
            for line in try client.readLines() {
                let message = FeedMessage(line: line)
                switch message {
                case .hello(let hello):
                    backoff.reset()
                    log.logger.info(
                        "feed hello",
                        [
                            ("node", hello.node), ("version", hello.version),
                            ("protocol", String(hello.protocolVersion)),
                        ])
                case .missed(let count):
                    log.logger.warning("feed records missed", [("count", String(count))])
                case .unrecognized(let reason):
                    log.logger.debug("feed line ignored", [("reason", reason)])
                default:
                    break
                }
                state.apply(message, now: now)
            }
            if client.isClosed { lose(reason: "the relay closed the feed", now: now) }
        } catch {
            lose(reason: error.description, now: now)
        }
    }

    private mutating func send(_ line: String, now: Double) {
        guard let client else {
            state.post(
                "Not connected to the relay; '\(line)' was not sent.", warning: true, now: now)
            return
        }
        do {
            try client.send(line)
            log.logger.info("command sent", [("command", line)])
        } catch {
            lose(reason: error.description, now: now)
        }
    }

    private mutating func lose(reason: String, now: Double) {
        client = nil
        let delay = backoff.next()
        nextAttempt = now + delay
        state.disconnected(reason: reason, retryAt: nextAttempt)
        log.logger.info("feed unavailable", [("reason", reason), ("retry_in", "\(delay)s")])
    }
}
