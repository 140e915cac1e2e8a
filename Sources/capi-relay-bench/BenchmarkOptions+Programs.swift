import Foundation

/// The programs a benchmark runs beside itself: the relay, a Python with Meta's SDK, nginx.
///
/// Each is checked before the benchmark starts. Unchecked, a wrong `--python` failed with
/// Foundation's error dump, and a wrong `--nginx` only after the whole ingest run.
extension BenchmarkOptions {
    /// The program `option` names, nil when it is not given.
    ///
    /// - Parameter hint: what to pass instead, for the message.
    /// - Throws: when nothing is at the path, or it is a directory or not executable.
    func program(_ option: String, hint: String) throws(BenchmarkUsageError) -> String? {
        guard let path = text(option) else { return nil }
        if let problem = Self.problem(running: path) {
            throw BenchmarkUsageError(
                .missingProgram, "\(benchmark): \(option) \(path): \(problem); \(hint)")
        }
        return path
    }

    /// The relay `--relay` names, or else the one built beside this benchmark
    /// (`swift build -c release` builds both).
    func relay() throws(BenchmarkUsageError) -> String {
        let hint = "pass the path of a capi-relay that `swift build -c release` built"
        if let given = try program("--relay", hint: hint) { return given }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("capi-relay").path
        guard Self.problem(running: beside) == nil else {
            throw BenchmarkUsageError(
                .missingProgram,
                "\(benchmark): no capi-relay at \(beside): build both with"
                    + " `swift build -c release`, or pass --relay PATH")
        }
        return beside
    }

    /// Why the file at `path` cannot run as a program, or nil when it can.
    private static func problem(running path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "no such file"
        }
        // A directory passes `isExecutableFile` (its x bit means search) but cannot be run.
        guard !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: path) else {
            return "not an executable file"
        }
        return nil
    }
}
