import Foundation

/// A process the benchmark starts (the relay, the sandbox, nginx), with its stderr read line
/// by line so the benchmark can wait for a log message.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var lines: [String] = []  // guarded by lock
    /// When `run()` was called, in `DispatchTime` nanoseconds.
    private(set) var launchedAt: UInt64 = 0

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            let text = String(decoding: data, as: UTF8.self)
            self.lock.withLock {
                self.lines.append(contentsOf: text.split(separator: "\n").map(String.init))
            }
        }
        launchedAt = DispatchTime.now().uptimeNanoseconds
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Everything the process wrote to stderr so far.
    var stderr: String { lock.withLock { lines.joined(separator: "\n") } }

    /// Waits for a stderr line containing `message` and returns the value of `key=` on it (the
    /// whole line when `key` is nil).
    @discardableResult
    func waitForLog(_ message: String, key: String? = nil, timeout: Double = 30) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = lock.withLock { lines.first { $0.contains(message) } }
            if let line = found {
                guard let key else { return line }
                if let range = line.range(of: "\(key)=") {
                    return String(line[range.upperBound...].prefix { $0 != " " })
                }
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        throw BenchmarkError("no '\(message)' from \(process.executableURL!.path):\n\(stderr)")
    }

    /// The port of the `address=host:port` the process logged with `message`.
    func waitForPort(_ message: String) throws -> UInt16 {
        let address = try waitForLog(message, key: "address")
        guard let port = address.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            throw BenchmarkError("no port in \(address)")
        }
        return port
    }

    /// Peak resident set size so far, in MiB (VmHWM from /proc).
    func peakRSSMiB() -> Double? { statusMiB("VmHWM:") }

    /// CPU time the process has used so far, user and system, in seconds (from /proc).
    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return nil }
        // After the name come the state (field 3) and then fields 4 on: utime and stime are
        // fields 14 and 15, in clock ticks.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12])
        else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size now, in MiB (VmRSS from /proc).
    func currentRSSMiB() -> Double? { statusMiB("VmRSS:") }

    private func statusMiB(_ field: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }

    /// SIGTERM, then waits up to `timeout` seconds before SIGKILL.
    func stop(timeout: Double = 20) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}
