import Foundation

// Helpers shared by the test targets that run the real binary.

/// A `capi-relay` subcommand (or a `capi-relay-bench` benchmark) running as its own process, as
/// an operator would run it.
///
/// Output is collected as it arrives, so a test can wait for a log line (the bound port) and
/// assert on everything printed (no secret may appear in it).
public final class TestProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSLock()
    /// Bytes as they arrived, decoded only when read: a chunk may end inside a multi-byte
    /// character, and decoding chunks one by one would garble it. Guarded by `lock`.
    private var stdoutBytes = Data()
    /// Guarded by `lock`.
    private var stderrBytes = Data()

    /// The built `capi-relay` binary, beside the test bundle in the build directory.
    public static var binary: URL { binary(named: "capi-relay") }

    /// The built executable `name` (`capi-relay`, `capi-relay-bench`), beside the test bundle
    /// in the build directory.
    public static func binary(named name: String) -> URL {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = runner.deletingLastPathComponent()
        // The runner may be inside the .xctest bundle directory.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path),
            directory.path != "/"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent(name)
    }

    /// - Parameters:
    ///   - currentDirectory: where it runs; the test's own directory when nil.
    ///   - program: the built executable to run, `capi-relay` unless a test runs the
    ///     benchmarks' `capi-relay-bench`.
    public init(
        _ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil,
        program: String = "capi-relay"
    ) throws {
        process.executableURL = TestProcess.binary(named: program)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged

        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        // One reading thread per pipe, blocking until end of file: a dispatch handler could
        // run late on a busy machine and leave the tail of the output unread.
        startReading(out.fileHandleForReading) { [weak self] data in
            self?.lock.withLock { self?.stdoutBytes.append(data) }
        }
        startReading(err.fileHandleForReading) { [weak self] data in
            self?.lock.withLock { self?.stderrBytes.append(data) }
        }
        try process.run()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    private let pipesDrained = DispatchSemaphore(value: 0)
    /// Both pipes were drained by an earlier wait; guarded by `lock`.
    private var outputComplete = false

    private func startReading(_ handle: FileHandle, _ append: @escaping @Sendable (Data) -> Void) {
        let drained = pipesDrained
        let thread = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            drained.signal()
        }
        thread.start()
    }

    public var stdout: String { String(decoding: lock.withLock { stdoutBytes }, as: UTF8.self) }
    public var stderr: String { String(decoding: lock.withLock { stderrBytes }, as: UTF8.self) }

    /// Waits until stderr shows a line with `message`, then returns the value of `key` in it.
    public func waitForLog(_ message: String, key: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            for line in stderr.split(separator: "\n") where line.contains("msg=\"\(message)\"") {
                for field in line.split(separator: " ") where field.hasPrefix("\(key)=") {
                    return String(field.dropFirst(key.count + 1))
                }
            }
            // The same line written by `--log-format json`.
            for line in stderr.split(separator: "\n")
            where line.hasPrefix("{") && line.contains("\"msg\":\"\(message)\"") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8))
                    as? [String: Any], let value = object[key] as? String
                {
                    return value
                }
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw TestFailure("no '\(message)' log line; stderr:\n\(stderr)")
    }

    /// The port from a `… address=host:port` log line.
    public func waitForPort(_ message: String) throws -> UInt16 {
        let address = try waitForLog(message, key: "address")
        guard let port = address.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            throw TestFailure("no port in \(address)")
        }
        return port
    }

    /// Waits for exit and returns the status.
    @discardableResult
    public func waitForExit(timeout: Double = 60) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        guard !process.isRunning else {
            process.terminate()
            throw TestFailure("process did not exit within \(timeout) s")
        }
        // Wait until both pipes reach end of file, so that stdout and stderr hold everything
        // the process wrote. A child the process left running may hold a pipe open; give up
        // after 30 s then.
        if !lock.withLock({ outputComplete }) {
            for _ in 0..<2 { _ = pipesDrained.wait(timeout: .now() + 30) }
            lock.withLock { outputComplete = true }
        }
        return process.terminationStatus
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    public func kill(_ signalNumber: Int32) {
        Foundation.kill(process.processIdentifier, signalNumber)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls until `condition` holds or the time runs out.
public func eventually(timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}
