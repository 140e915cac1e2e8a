import Foundation
import RelayCore

/// `capi-relay console`: the full-screen operations dashboard on the relay's feed socket.
public enum ConsoleCommand {
    /// Runs the console until the operator quits or a stop signal arrives.
    ///
    /// Problems found before the screen is taken (an unknown theme, an unwritable log) go to
    /// stderr with what to do; after that, everything goes to the log file.
    ///
    /// - Returns: The exit code: 0 on quit, 64 for a bad option, 1 when the log cannot be opened
    ///   or stdin/stdout is not a terminal.
    public static func run(_ options: ConsoleOptions) -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty

        // Themes and the log are checked while stderr still reaches the operator.
        let directory =
            options.themesDirectory
            ?? ThemeCatalog.defaultDirectory(executablePath: CommandLine.arguments[0])
        if let directory = options.themesDirectory,
            !FileManager.default.fileExists(atPath: directory)
        {
            return usage("Option '--themes-dir' names '\(directory)', which does not exist.")
        }
        let catalog = ThemeCatalog(directory: directory)
        let startName = options.themeName ?? (noColor ? "monochrome" : "default")
        guard let startIndex = catalog.names.firstIndex(of: startName) else {
            let names = catalog.names.joined(separator: ", ")
            return usage("Option '--theme' got '\(startName)'; the themes are \(names).")
        }
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else {
            report(
                "capi-relay console needs a terminal; to read the feed from a script use "
                    + "socat - UNIX-CONNECT:\(options.socketPath)")
            return 1
        }
        let log: ConsoleLog
        do {
            log = try ConsoleLog(path: options.logPath ?? ConsoleLog.defaultPath())
        } catch {
            report(error.description)
            return 1
        }
        log.logger.notice(
            "console starting",
            [
                ("socket", options.socketPath), ("themes_dir", directory ?? "built-in"),
                ("theme", startName), ("read_only", String(options.readOnly)),
                ("pid", String(getpid())),
            ])
        for problem in catalog.diagnostics {
            log.logger.warning("theme line ignored", [("at", problem.description)])
        }

        var session = ConsoleSession(
            options: options, catalog: catalog, themeIndex: startIndex, log: log,
            colorAllowed: !noColor)
        session.run()
        log.logger.notice("console stopped")
        return 0
    }

    private static func usage(_ message: String) -> Int32 {
        report(message + "\nRun 'capi-relay console --help' for usage.")
        return 64
    }

    private static func report(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
