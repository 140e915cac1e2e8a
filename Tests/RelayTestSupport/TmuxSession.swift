import Foundation

/// The real `capi-relay console` in a detached tmux session of a fixed size, on a tmux server
/// of its own (`-L`), so that tests never touch the developer's tmux and can run side by side.
public final class TmuxSession {
    public let server = "crc-\(getpid())-\(UUID().uuidString.prefix(6))"
    public let logPath: String

    /// The built `capi-relay` binary.
    public static var binary: String { TestProcess.binary.path }

    /// Starts `capi-relay console ARGUMENTS` at width × height. When the console exits, the
    /// pane prints `exit=CODE` and the terminal's line settings from `stty -a`, so a test can
    /// see that the terminal was restored.
    public convenience init(
        _ arguments: [String], width: Int = 100, height: Int = 30, environment: String = ""
    ) throws {
        let logPath = NSTemporaryDirectory() + "capi-relay-console-\(UUID().uuidString).log"
        try self.init(
            command: ["console"] + arguments + ["--log", logPath], logPath: logPath,
            width: width, height: height, environment: environment)
    }

    /// Starts `capi-relay ARGUMENTS` (any subcommand) at width × height.
    public static func command(
        _ arguments: [String], width: Int = 100, height: Int = 30
    ) throws -> TmuxSession {
        try TmuxSession(
            command: arguments, logPath: NSTemporaryDirectory() + "unused-\(UUID().uuidString)",
            width: width, height: height, environment: "")
    }

    private init(
        command: [String], logPath: String, width: Int, height: Int, environment: String
    ) throws {
        self.logPath = logPath
        let quoted = ([Self.binary] + command).map { "'\($0)'" }.joined(separator: " ")
        let script =
            "\(environment) \(quoted); echo \"exit=$?\"; "
            + "stty -a | tr -s '; ' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig|icrnl)' "
            + "| tr '\\n' ' '; echo stty-done; sleep 600"
        try tmux(["new-session", "-d", "-x", "\(width)", "-y", "\(height)", "-s", "main", script])
    }

    deinit { _ = try? tmux(["kill-server"]) }

    public var screen: String { (try? tmux(["capture-pane", "-p", "-t", "main"])) ?? "" }

    /// Presses keys as tmux names them ("Enter", "Tab", "q").
    public func press(_ keys: String...) throws {
        try tmux(["send-keys", "-t", "main"] + keys)
    }

    public func resize(width: Int, height: Int) throws {
        try tmux(["resize-window", "-t", "main", "-x", "\(width)", "-y", "\(height)"])
    }

    /// Waits until the screen contains `text`, and returns the screen.
    @discardableResult
    public func waitFor(_ text: String, timeout: Double = 15) throws -> String {
        try waitUntil(timeout: timeout, "'\(text)'") { $0.contains(text) }
    }

    /// tmux can capture a curses frame half drawn (an overlay's title before its lines). Once
    /// the predicate holds, the screen is read again until two reads 50 ms apart agree, for
    /// at most a second; the last read that still satisfies the predicate is returned.
    private func settled(_ first: String, _ predicate: (String) -> Bool) -> String {
        var previous = first
        for _ in 0..<20 {
            Thread.sleep(forTimeInterval: 0.05)
            let next = screen
            guard predicate(next) else { return previous }
            if next == previous { return next }
            previous = next
        }
        return previous
    }

    @discardableResult
    public func waitUntil(
        timeout: Double = 15, _ what: String, _ predicate: (String) -> Bool
    ) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = screen
            if predicate(last) { return settled(last, predicate) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "(no log)"
        throw TestFailure(
            "screen never showed \(what); last screen:\n\(last)\nconsole log:\n\(log)")
    }

    /// The console's process id, from its log's first line.
    public func consolePID() throws -> pid_t {
        let log = try String(contentsOfFile: logPath, encoding: .utf8)
        for field in log.split(whereSeparator: { $0 == " " || $0 == "\n" })
        where field.hasPrefix("pid=") {
            if let pid = pid_t(field.dropFirst(4)) { return pid }
        }
        throw TestFailure("no pid in the console log:\n\(log)")
    }

    /// Runs tmux and returns its stdout.
    ///
    /// posix_spawn rather than Foundation's Process: `new-session -d` forks the tmux server,
    /// which keeps inherited descriptors open, and Process then never saw the client exit.
    /// Spawning also resets the signal mask, which the test runner's threads block and a tmux
    /// server would otherwise keep for life (ignoring SIGHUP and SIGTERM).
    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String {
        let outputPath = NSTemporaryDirectory() + "\(server)-\(UUID().uuidString.prefix(6)).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = ["tmux", "-u", "-L", server, "-f", "/dev/null"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LANG"] = "C.UTF-8"
        environment.removeValue(forKey: "TMUX")
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawned = withCStrings(argv) { argvPointers in
            withCStrings(envp) { envPointers in
                posix_spawn(&pid, "/usr/bin/tmux", &actions, &attributes, argvPointers, envPointers)
            }
        }
        guard spawned == 0 else { throw TestFailure("cannot run tmux: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw TestFailure("tmux \(arguments.first ?? "") exited with status \(status)")
        }
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }
}

/// Calls `body` with a NULL-terminated C array of the strings, for posix_spawn.
private func withCStrings<R>(
    _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R
) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
