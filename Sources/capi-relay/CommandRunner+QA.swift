import Foundation
import RelayCommandLine
import RelayCore
import RelayJournal
import RelayServer

// The QA commands: qa, reconcile, rules, replay and journal export-bodies. Each reads the
// config for the journal path and its settings; none writes to the journal.
extension CommandRunner {
    // MARK: qa

    static func qa(_ command: ParsedCommand) -> Int32 {
        guard let (configuration, _) = loadConfiguration(command) else {
            return ExitCode.config.rawValue
        }
        guard let since = since(command) else { return ExitCode.usage.rawValue }
        let location = journalLocation(command, configuration)
        let path = location.description

        let report: QAReport
        do {
            let reader = try JournalReader(location)
            report = QAChecklist(configuration: configuration).run(
                conversions: try reader.conversions(sinceMillis: since.millis),
                attempts: try reader.attempts(sinceMillis: since.millis),
                pixelEchoes: try reader.pixelEchoes(),
                compareShadow: command.flag("compare-shadow"))
        } catch {
            fail(error.message)
            return ExitCode.failure
        }
        if command.flag("json") {
            print(report.json(journal: path, sinceMillis: since.millis).serializedString)
        } else {
            print(report.text(journal: path, since: since.text))
        }
        return report.passed ? ExitCode.success.rawValue : ExitCode.failure
    }

    // MARK: reconcile

    static func reconcile(_ command: ParsedCommand) -> Int32 {
        // Declared required: the parser runs no reconcile without it.
        let crmFile = command.string("crm") ?? ""
        if let threshold = command.int("max-mismatches"), threshold < 0 {
            return usageError(
                command, "Option '--max-mismatches' expects 0 or more, got '\(threshold)'.")
        }
        guard let (configuration, _) = loadConfiguration(command) else {
            return ExitCode.config.rawValue
        }
        guard let since = since(command) else { return ExitCode.usage.rawValue }
        var columns = configuration.qa.crmColumns
        columns.eventID = command.string("event-id-column") ?? columns.eventID
        columns.recordID = command.string("record-id-column") ?? columns.recordID
        columns.createdAt = command.string("created-at-column") ?? columns.createdAt
        let threshold = command.int("max-mismatches") ?? configuration.qa.maxMismatches
        let location = journalLocation(command, configuration)
        let path = location.description

        guard let data = FileManager.default.contents(atPath: crmFile) else {
            fail("cannot read the CRM export \(crmFile)")
            return ExitCode.failure
        }
        let report: ReconcileReport
        do {
            let records = try CRMExportRecord.read(
                csv: String(decoding: data, as: UTF8.self), columns: columns, file: crmFile)
            let reader = try JournalReader(location)
            report = Reconciler.reconcile(
                crm: records, conversions: try reader.conversions(sinceMillis: since.millis),
                sinceMillis: since.millis)
        } catch let error as CRMExportError {
            fail(error.message)
            return ExitCode.failure
        } catch let error as JournalError {
            fail(error.message)
            return ExitCode.failure
        } catch {
            fail("\(error)")
            return ExitCode.failure
        }
        if command.flag("json") {
            print(
                report.json(
                    crmFile: crmFile, journal: path, sinceMillis: since.millis,
                    threshold: threshold
                ).serializedString)
        } else {
            print(
                report.text(
                    crmFile: crmFile, journal: path, since: since.text, threshold: threshold))
        }
        return report.mismatches > threshold ? ExitCode.failure : ExitCode.success.rawValue
    }

    // MARK: rules

    static func rules(_ command: ParsedCommand) -> Int32 {
        let name = command.string("format") ?? "text"
        guard let format = RulesTable.Format(rawValue: name) else {
            return usageError(command, "Option '--format' expects text or markdown, got '\(name)'.")
        }
        guard let (configuration, file) = loadConfiguration(command) else {
            return ExitCode.config.rawValue
        }
        print(RulesTable(configuration: configuration, configFile: file).render(format))
        return ExitCode.success.rawValue
    }

    // MARK: replay

    static func replay(_ command: ParsedCommand) -> Int32 {
        let file = command.positional("file") ?? ""
        guard let (configuration, configFile) = loadConfiguration(command) else {
            return ExitCode.config.rawValue
        }
        let target = command.string("to") ?? defaultWebhookURL(configuration)
        guard let url = URL(string: target), ["http", "https"].contains(url.scheme ?? "") else {
            return usageError(command, "Option '--to' expects an http(s) URL, got '\(target)'.")
        }
        if let code = command.string("test-event-code"),
            code.isEmpty || code.count > 64
                || !code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        {
            return usageError(
                command,
                "Option '--test-event-code' expects Events Manager's code (letters and digits),"
                    + " got '\(code)'.")
        }

        // Only the app secret is needed to sign; the other secrets may be absent here.
        let appSecret: String
        do {
            let source = configuration.messenger.appSecret
            guard let value = try source.resolve(environment: ProcessInfo.processInfo.environment)
            else {
                fail("\(configFile): messenger.app_secret: no value in \(source.origin)")
                return ExitCode.config.rawValue
            }
            appSecret = value
        } catch {
            fail("\(configFile): messenger.app_secret: \(error)")
            return ExitCode.config.rawValue
        }

        guard let data = FileManager.default.contents(atPath: file) else {
            fail("cannot read \(file)")
            return ExitCode.failure
        }
        let lines = Replayer.lines(of: String(decoding: data, as: UTF8.self))
        guard !lines.isEmpty else {
            fail(
                "\(file) holds no webhook bodies; write them with 'capi-relay journal export-bodies'"
            )
            return ExitCode.failure
        }

        let progress = ReplayProgress(total: lines.count, isTerminal: isatty(STDERR_FILENO) == 1)
        let replayer = Replayer(
            url: url, appSecret: appSecret, testEventCode: command.string("test-event-code"))
        let summary = replayer.run(lines) { progress.update($0) }
        progress.finish()
        // The receiver's reasons go with the progress, to stderr; stdout keeps the one line.
        summary.refusalLines.forEach(fail)
        print(summary.text)
        return summary.succeeded ? ExitCode.success.rawValue : ExitCode.failure
    }

    /// The relay's own webhook URL on loopback when it listens on every address.
    private static func defaultWebhookURL(_ configuration: RelayConfiguration) -> String {
        var listen = configuration.listen
        if listen.hasPrefix("0.0.0.0:") { listen = "127.0.0.1" + listen.dropFirst(7) }
        return "http://\(listen)/webhooks/messenger"
    }

    // MARK: journal export-bodies

    static func exportBodies(_ command: ParsedCommand) -> Int32 {
        guard let (configuration, _) = loadConfiguration(command) else {
            return ExitCode.config.rawValue
        }
        guard let since = since(command) else { return ExitCode.usage.rawValue }
        let location = journalLocation(command, configuration)

        // The bodies carry page-scoped user ids: a file of them is the owner's only.
        var output = FileHandle.standardOutput
        if let file = command.string("output") {
            guard
                FileManager.default.createFile(
                    atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forWritingAtPath: file)
            else {
                fail("cannot write \(file)")
                return ExitCode.failure
            }
            output = handle
        }

        var written = 0
        var skipped = 0
        do {
            let reader = try JournalReader(location)
            try reader.forEachDelivery(
                sinceMillis: since.millis, source: command.string("source")
            ) { delivery in
                // Stored bodies are the bytes as received, possibly spread over lines:
                // re-serialized, each is one line (replay signs the new bytes).
                guard let body = try? JSONValue(parsing: delivery.body) else {
                    skipped += 1
                    return
                }
                output.write(Data(body.serialized() + [0x0A]))
                written += 1
            }
        } catch {
            fail(error.message)
            return ExitCode.failure
        }
        if command.string("output") != nil {
            print("exported \(written) webhook bodies")
        }
        if skipped > 0 { fail("skipped \(skipped) bodies that are not JSON") }
        return ExitCode.success.rawValue
    }

    // MARK: Helpers

    /// The config named by `--config`; nil after reporting its problems.
    private static func loadConfiguration(
        _ command: ParsedCommand
    ) -> (RelayConfiguration, String)? {
        let file = command.string("config") ?? Commands.defaultConfigFile
        do {
            return (try RelayConfiguration.load(path: file), file)
        } catch {
            fail(withHint(error, command).description)
            return nil
        }
    }

    /// `--since` as epoch milliseconds (nil millis when not given); nil after a usage error.
    private static func since(_ command: ParsedCommand) -> (millis: Int64?, text: String?)? {
        guard let text = command.string("since") else { return (nil, nil) }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard let millis = QATime.parse(text, nowMillis: now) else {
            _ = usageError(
                command,
                "Option '--since' expects a date (2025-12-01), a date and time"
                    + " (2025-12-01T09:00:00Z), unix seconds or a duration (24h, 7d), got '\(text)'."
            )
            return nil
        }
        return (millis, QATime.format(millis: millis))
    }

    /// The journal a read-only command reads: `--journal` (a file or a URL), or the config's.
    static func journalLocation(
        _ command: ParsedCommand, _ configuration: RelayConfiguration
    ) -> JournalLocation {
        var probe = configuration
        probe.journal = command.string("journal") ?? configuration.journal
        return probe.journalLocation
    }
}

/// Replay's progress on stderr: a bar redrawn in place on a terminal, otherwise a plain line
/// at every tenth, so that a CI log stays short.
final class ReplayProgress {
    private let total: Int
    private let isTerminal: Bool
    private var lastTenth = -1

    init(total: Int, isTerminal: Bool) {
        self.total = total
        self.isTerminal = isTerminal
    }

    func update(_ done: Int) {
        if isTerminal {
            let width = 30
            let filled = total == 0 ? width : done * width / total
            let bar =
                String(repeating: "█", count: filled)
                + String(repeating: "░", count: width - filled)
            write("\r  \(bar) \(done)/\(total)")
        } else {
            let tenth = total == 0 ? 10 : done * 10 / total
            guard tenth != lastTenth else { return }
            lastTenth = tenth
            write("replay progress done=\(done) of=\(total)\n")
        }
    }

    func finish() {
        if isTerminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension JournalReader {
    /// Opens the journal where the config (or `--journal`) says it is, read-only.
    convenience init(_ location: JournalLocation) throws(JournalError) {
        switch location {
        case .sqlite(let path): try self.init(path: path)
        case .postgres(let url): try self.init(url: url)
        }
    }
}
