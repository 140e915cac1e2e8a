import Foundation
import RelayCommandLine
import RelayConsole
import RelayCore
import RelayJournal
import RelaySandbox
import RelayServer

/// Runs a parsed command and returns its exit code.
enum CommandRunner {
    static func run(_ command: ParsedCommand) -> Int32 {
        switch command.path {
        case ["serve"]: return serve(command)
        case ["sandbox"]: return sandbox(command)
        case ["demo"]: return demo(command)
        case ["config", "example"]:
            print(ExampleConfiguration.text)
            return ExitCode.success.rawValue
        case ["config", "check"]: return checkConfig(command)
        case ["hash"]: return hash(command)
        case ["qa"]: return qa(command)
        case ["reconcile"]: return reconcile(command)
        case ["rules"]: return rules(command)
        case ["replay"]: return replay(command)
        case ["journal", "export-bodies"]: return exportBodies(command)
        case ["resend"]: return resend(command)
        case ["console"]:
            return ConsoleCommand.run(
                ConsoleOptions(
                    socketPath: command.string("socket") ?? "capi-relay.sock",
                    readOnly: command.flag("read-only"), themeName: command.string("theme"),
                    themesDirectory: command.string("themes-dir"), logPath: command.string("log")))
        default:
            fail("no handler for '\(command.path.joined(separator: " "))'")
            return ExitCode.usage.rawValue
        }
    }

    // MARK: serve

    private static func serve(_ command: ParsedCommand) -> Int32 {
        guard let level = logLevel(command.string("log-level") ?? "info") else {
            return usageError(
                command,
                "Option '--log-level' expects trace, debug, info, notice, warning or error.")
        }
        guard let format = logFormat(command) else {
            return usageError(command, "Option '--log-format' expects logfmt or json.")
        }
        let logger = stderrLogger(level: level, format: format)
        let file = command.string("config") ?? Commands.defaultConfigFile

        // SIGHUP re-reads the config and its secrets; a broken file changes nothing. Handled
        // from the first moment: a supervisor may signal as soon as it starts the process
        // (systemd's ExecReload) or reads "relay listening", and an unhandled SIGHUP ends it.
        // One that comes before the relay has started waits for the start.
        let environment = ProcessInfo.processInfo.environment
        let starting = StartingRelay()
        let reload = ReloadSignal {
            guard let relay = starting.waitForStart() else { return }
            logger.notice("reload requested", [("file", file)])
            _ = ConfigReload.perform(
                path: file, relay: relay, environment: environment, logger: logger)
        }
        defer {
            starting.failed()
            reload.cancel()
        }

        let configuration: RelayConfiguration
        let secrets: RelaySecrets
        do {
            configuration = try RelayConfiguration.load(path: file)
            secrets = try RelaySecrets.resolve(
                configuration, environment: ProcessInfo.processInfo.environment, file: file)
        } catch {
            // Through the logger, in the format asked for: a log pipeline reads these first
            // lines too. Each is a line `config check` would print.
            for line in withHint(error, command).description.split(separator: "\n") {
                logger.error("config problem", [("problem", String(line))])
            }
            return ExitCode.config.rawValue
        }

        var listen: ListenAddress?
        if let text = command.string("listen") {
            guard let address = ListenAddress(text) else {
                return usageError(command, "Option '--listen' expects host:port, got '\(text)'.")
            }
            listen = address
        }

        let relay: Relay
        do {
            relay = try Relay(
                configuration: configuration, secrets: secrets, logger: logger,
                listenOverride: listen)
        } catch {
            logger.error("cannot start the relay", [("error", "\(error)")])
            return ExitCode.failure
        }

        do {
            try relay.start()
        } catch {
            logger.error("cannot start the relay", [("error", "\(error)")])
            return ExitCode.failure
        }
        starting.started(relay)
        StopSignals.wait()
        reload.cancel()
        logger.notice("stop requested; finishing in-flight work")
        relay.stop()
        return ExitCode.success.rawValue
    }

    // MARK: sandbox

    private static func sandbox(_ command: ParsedCommand) -> Int32 {
        guard let format = logFormat(command) else {
            return usageError(command, "Option '--log-format' expects logfmt or json.")
        }
        let text = command.string("listen") ?? "127.0.0.1:9090"
        guard let address = ListenAddress(text) else {
            return usageError(command, "Option '--listen' expects host:port, got '\(text)'.")
        }
        let logger = stderrLogger(level: .info, format: format)
        let environment = ProcessInfo.processInfo.environment
        func secret(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }

        var configuration = SandboxConfiguration()
        configuration.host = address.host
        configuration.port = address.port
        configuration.recordPath = command.string("record")
        configuration.expectedAccessToken = secret("CAPI_RELAY_ACCESS_TOKEN")
        configuration.appSecret = secret("CAPI_RELAY_APP_SECRET")
        configuration.crmSecret = secret("CAPI_RELAY_CRM_SECRET")
        if let path = command.string("faults") {
            guard let data = FileManager.default.contents(atPath: path) else {
                return usageError(
                    command, "Option '--faults' names '\(path)', which cannot be read.")
            }
            do {
                configuration.faults = try SandboxFaults(json: Array(data))
            } catch {
                for line in error.description.split(separator: "\n") {
                    logger.error("fault plan problem", [("file", path), ("problem", String(line))])
                }
                return ExitCode.config.rawValue
            }
        }
        let sandbox = Sandbox(configuration: configuration)
        do {
            try sandbox.start()
        } catch {
            logger.error("cannot start the sandbox", [("error", "\(error)")])
            return ExitCode.failure
        }
        logger.notice(
            "sandbox listening",
            [
                ("address", "\(address.host):\(sandbox.port)"),
                ("record", configuration.recordPath ?? "none"),
                ("graph_path", "/{version}/{dataset}/events"), ("crm_path", configuration.crmPath),
                ("faults", configuration.faults.isEmpty ? "none" : "on"),
            ])
        StopSignals.wait()
        sandbox.stop()
        return ExitCode.success.rawValue
    }

    // MARK: demo

    private static func demo(_ command: ParsedCommand) -> Int32 {
        if let events = command.int("events"), events < 1 {
            return usageError(
                command, "Option '--events' expects a positive number, got '\(events)'.")
        }
        var options = DemoOptions(
            events: command.int("events"), seed: UInt64(max(command.int("seed") ?? 1, 0)),
            isTerminal: isatty(STDOUT_FILENO) == 1)
        options.keepFiles = command.flag("keep-files")
        options.chaos = command.flag("chaos")

        // In a terminal the demo opens the console on its relay's feed; its log, and the
        // relay's, then go to files, since nothing may write to the screen beside curses.
        // Under --chaos failures are the point, so only errors reach the terminal.
        var logger = stderrLogger(level: options.chaos ? .error : .warning)
        let directory: URL
        do {
            directory = try Demo.makeDirectory()
        } catch {
            fail("demo failed: \(error)")
            return ExitCode.failure
        }
        options.directory = directory
        let interactive = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        if interactive && !command.flag("no-console") {
            // In the demo's directory, which goes at the end unless --keep-files.
            let consoleLog = directory.appendingPathComponent("console.log").path
            logger = fileLogger(
                level: .info, path: directory.appendingPathComponent("relay.log").path)
            options.viewer = { socket in
                _ = ConsoleCommand.run(ConsoleOptions(socketPath: socket, logPath: consoleLog))
            }
        }

        do {
            // Written straight to the descriptor, so that a pipe sees each line as it happens.
            let write: @Sendable (String) -> Void = { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
            let totals = try Demo.run(options, logger: logger, print: write)
            write(Demo.report(totals))
            return totals.allAddUp ? ExitCode.success.rawValue : ExitCode.failure
        } catch {
            fail("demo failed: \(error)")
            return ExitCode.failure
        }
    }

    // MARK: resend

    private static func resend(_ command: ParsedCommand) -> Int32 {
        // `--dead-letters` is declared required: the parser runs no resend without it.
        if let reason = command.string("reason"), !DeadLetterFilter.isValidReason(reason) {
            return usageError(command, unknownReasonMessage(reason))
        }
        var filter = DeadLetterFilter(
            eventID: command.string("event-id"), reason: command.string("reason"))
        if let since = command.string("since") {
            guard let millis = DeadLetterResend.parseSince(since) else {
                return usageError(
                    command,
                    "Option '--since' got '\(since)'; expected a time such as"
                        + " 2026-05-01T12:00:00Z or 2026-05-01, or an age such as 30m, 2h, 7d.")
            }
            filter.sinceMillis = millis
        }
        let wait = command.double("wait") ?? 60
        guard wait >= 0 else {
            return usageError(command, "Option '--wait' expects 0 or more seconds, got '\(wait)'.")
        }

        let file = command.string("config") ?? Commands.defaultConfigFile
        let journal: any Journal
        do {
            let configuration = try RelayConfiguration.load(path: file)
            journal = try configuration.openJournal()
        } catch let error as ConfigErrors {
            fail(withHint(error, command).description)
            return ExitCode.config.rawValue
        } catch {
            fail("cannot open the journal: \(error)")
            return ExitCode.failure
        }
        defer { journal.close() }

        do {
            if command.flag("dry-run") {
                let letters = try DeadLetterResend.list(journal: journal, filter: filter)
                for letter in letters {
                    print(
                        "\(letter.conversion.eventID) \(letter.destination.rawValue)"
                            + " \(letter.reason.summary)")
                }
                print("\(letters.count) dead letters would be re-sent")
                return ExitCode.success.rawValue
            }

            // The bar goes to stderr and only to a terminal; the summary is for scripts too.
            let drawBar = isatty(STDERR_FILENO) == 1
            let summary = try DeadLetterResend.run(
                journal: journal, filter: filter, waitSeconds: wait
            ) { settled, total, _ in
                guard drawBar else { return }
                let line = "\r" + DeadLetterResend.bar(settled: settled, of: total) + "  "
                FileHandle.standardError.write(Data(line.utf8))
            }
            if drawBar && summary.queued > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            print(summary.line)
            if summary.stillPending > 0 {
                fail(
                    "some events are still pending: is the relay running? it delivers them"
                        + " at its next tick")
            }
            return summary.allDelivered ? ExitCode.success.rawValue : ExitCode.failure
        } catch {
            fail("resend failed: \(error)")
            return ExitCode.failure
        }
    }

    /// Says what `--reason` takes; a mistyped word gets the nearest code.
    private static func unknownReasonMessage(_ reason: String) -> String {
        let words = DeadLetterReason.wordCodes
        var message =
            "Option '--reason' got '\(reason)'; expected a reason code"
            + " (\(words.joined(separator: ", ")), graph_N such as graph_100, http_N such as"
            + " http_404) or a bare Graph code such as 100."
        if let guess = Suggestion.closest(to: reason.lowercased(), among: words) {
            message += " Did you mean '\(guess)'?"
        }
        return message
    }

    // MARK: hash

    private static func hash(_ command: ParsedCommand) -> Int32 {
        let fields = CustomerField.allCases.map(\.rawValue)
        // Declared required: the parser runs no hash without it.
        let name = command.string("field") ?? ""
        guard let field = CustomerField(rawValue: name.lowercased()) else {
            return usageError(
                command,
                "Option '--field' got '\(name)'; the fields are \(fields.joined(separator: ", ")).")
        }
        let normalizer = Normalizer(defaultCountry: command.string("country") ?? "us")

        // The operator asked to see these values, so they are printed; nothing is logged.
        var dropped = 0
        for value in command.positionals("value") {
            switch normalizer.normalize(field, value) {
            case .value(let normalized):
                print("\(normalized) \(Crypto.sha256Hex(normalized))")
            case .alreadyHashed(let hash):
                print("(already hashed) \(hash)")
            case .dropped(let reason):
                dropped += 1
                fail("dropped: \(reason)")
            }
        }
        return dropped == 0 ? ExitCode.success.rawValue : ExitCode.failure
    }

    // MARK: config check

    private static func checkConfig(_ command: ParsedCommand) -> Int32 {
        let file = command.positional("file") ?? Commands.defaultConfigFile
        let configuration: RelayConfiguration
        do {
            configuration = try RelayConfiguration.load(path: file)
        } catch {
            fail(withHint(error, command).description)
            return ExitCode.config.rawValue
        }

        // Secrets live outside the file, so their absence here is a warning and the exit code
        // stays 0 (a config is often checked where its secrets are not): the config is sound,
        // but serve would refuse to start in this environment, and the summary says so rather
        // than a bare "ok".
        var missing = 0
        do {
            _ = try RelaySecrets.resolve(
                configuration, environment: ProcessInfo.processInfo.environment, file: file)
        } catch {
            missing = error.errors.count
            for problem in error.errors {
                fail("warning: \(file): \(problem); serve will not start without it")
            }
        }
        // A shared journal is named as serve will use it, its password left out.
        if case .postgres(let url) = configuration.journalLocation {
            if PostgresConnection.holdsPassword(url) {
                fail(
                    "warning: \(file): journal: the URL holds a password; give it in PGPASSWORD"
                        + " or a password file (PGPASSFILE, ~/.pgpass) to keep it out of the config"
                )
            }
            print(
                "\(file): journal \(configuration.journalLocation), shared, as node"
                    + " \(configuration.nodeName), claims lasting"
                    + " \(configuration.journalLeaseSeconds)s")
        }
        if missing == 0 {
            print("\(file): ok")
        } else {
            print(
                "\(file): valid, but serve will not start here: \(missing) "
                    + (missing == 1 ? "setting lacks its secret" : "settings lack their secrets")
                    + " (see above)")
        }
        return ExitCode.success.rawValue
    }

    // MARK: Helpers

    /// `errors`, or, when the config is the default file and this directory has none, what
    /// to do instead: a command run elsewhere than beside its config is the usual cause, and
    /// "cannot read the file" alone does not say so. The way to name a config comes from the
    /// command's declaration, so the hint names only options it has.
    static func withHint(_ errors: ConfigErrors, _ command: ParsedCommand) -> ConfigErrors {
        let file = Commands.defaultConfigFile
        guard errors.file == file, !FileManager.default.fileExists(atPath: file) else {
            return errors
        }
        let declaration = command.declaration
        let hint: String
        if let option = declaration.options.first(where: { $0.name == "config" }) {
            // --journal reads another journal, but the rules and qa section still come from
            // the config: the likeliest next try, so it is answered at once.
            let journal = declaration.options.contains { $0.name == "journal" }
            hint =
                "name the relay's config with --config \(option.valueName)"
                + (journal ? ", which --journal still needs" : "")
        } else if let argument = declaration.arguments.first {
            let name = (["capi-relay"] + command.path).joined(separator: " ")
            hint = "name the config: \(name) \(argument.valueName)"
        } else {
            return errors
        }
        return ConfigErrors(
            file: file,
            errors: [ConfigError(path: "", message: "not found in this directory; \(hint)")])
    }

    /// Reports a usage error the way the parser does, with the hint to the command's help.
    static func usageError(_ command: ParsedCommand, _ message: String) -> Int32 {
        let name = (["capi-relay"] + command.path).joined(separator: " ")
        fail(message + "\nRun '\(name) --help' for usage.")
        return ExitCode.usage.rawValue
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    private static func logLevel(_ name: String) -> Logger.Level? {
        Logger.Level.allCases.first { $0.name == name }
    }

    /// A logger appending logfmt lines to a file, for when the terminal belongs to curses.
    private static func fileLogger(level: Logger.Level, path: String) -> Logger {
        _ = FileManager.default.createFile(
            atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        let handle = FileHandle(forWritingAtPath: path)
        let lock = NSLock()
        return Logger(level: level) { level, message, metadata in
            let line = Logger.logfmt(
                time: Date(), level: level, message: message, metadata: metadata)
            lock.withLock { handle?.write(Data((line + "\n").utf8)) }
        }
    }

    /// The `--log-format` asked for; nil when it names no format.
    private static func logFormat(_ command: ParsedCommand) -> Logger.Format? {
        Logger.Format(rawValue: command.string("log-format") ?? Logger.Format.logfmt.rawValue)
    }

    /// Writes each entry as one line to stderr; a line is written whole, so lines from
    /// several threads never interleave.
    private static func stderrLogger(level: Logger.Level, format: Logger.Format = .logfmt)
        -> Logger
    {
        Logger(level: level) { level, message, metadata in
            let line = Logger.line(
                format, time: Date(), level: level, message: message, metadata: metadata)
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

extension ExitCode {
    /// A failure that is neither a usage nor a config error.
    static var failure: Int32 { 1 }
}

/// The relay `serve` is starting, for a SIGHUP that arrives before it is up: the reload waits
/// for the start, and is dropped if the start fails (the process is about to exit).
private final class StartingRelay: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var outcome: Relay??

    func started(_ relay: Relay) { settle(relay) }

    /// Settles a start that has not happened; after `started`, changes nothing.
    func failed() { settle(nil) }

    func waitForStart() -> Relay? {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome ?? nil
    }

    private func settle(_ value: Relay?) {
        condition.lock()
        if outcome == nil { outcome = .some(value) }
        condition.broadcast()
        condition.unlock()
    }
}
