import Foundation
import RelayCore

/// Normalizing and hashing customer records, against Meta's Python SDK and against the raw
/// SHA-256 ceiling (OpenSSL hashing the already-normalized strings), all on one core.
struct NormalizationBenchmark {
    var records: Int
    var rounds: Int
    /// A Python with `facebook-business` installed; nil skips the peer.
    var python: String?

    func run() throws {
        let data = BenchmarkRecords.make(count: records)
        let normalizer = Normalizer()
        let fields = BenchmarkRecords.fields.compactMap(CustomerField.init(rawValue:))
        // Each record as the relay walks a `user_data` object: its entries in turn, not lookups
        // by key. The Python peer walks its dictionaries' entries too.
        let entries = data.map { record in
            fields.map { field in (field, record[field.rawValue] ?? "") }
        }
        // The strings the relay hashes, for the ceiling: SHA-256 alone over each of them.
        var normalized: [String] = []
        for record in entries {
            for (field, value) in record {
                if case .value(let value) = normalizer.normalize(field, value) {
                    normalized.append(value)
                }
            }
        }
        let peer = try python.map { try PythonPeer(python: $0, records: data) }

        // The three sides take turns, round by round, so each is measured in the same
        // stretches of time: this shared machine's speed drifts by a third within minutes, and
        // a side measured alone in a fast stretch would be flattered by it.
        var hashed = 0
        var relay = Double.infinity
        var ceiling = Double.infinity
        var sdk = Double.infinity
        for _ in 0..<max(rounds, 1) {
            relay = min(
                relay,
                seconds {
                    hashed = 0
                    for record in entries {
                        for (field, value) in record {
                            if case .success = normalizer.hash(field, value) { hashed += 1 }
                        }
                    }
                })
            ceiling = min(
                ceiling, seconds { for value in normalized { _ = Crypto.sha256Hex(value) } })
            if let peer { sdk = min(sdk, try peer.round()) }
        }
        let relayRate = Double(records) / relay
        let ceilingRate = Double(records) * Double(normalized.count) / Double(hashed) / ceiling

        print("normalize+hash  \(records) records × \(fields.count) fields, best of \(rounds)")
        print(
            String(
                format: "  capi-relay      %10.0f records/s  (%d values hashed)", relayRate, hashed)
        )
        print(
            String(
                format: "  sha-256 ceiling %10.0f records/s  (relay at %.0f%% of it)",
                ceilingRate, 100 * relayRate / ceilingRate))
        if peer != nil {
            let sdkRate = Double(records) / sdk
            print(
                String(
                    format: "  python sdk      %10.0f records/s  (relay is %.1f× faster)",
                    sdkRate, relayRate / sdkRate))
        } else {
            print("  python sdk      skipped (pass --python PATH with facebook-business installed)")
        }

        // Per field, to show where the time goes.
        for field in fields {
            let values = data.map { $0[field.rawValue] ?? "" }
            var fastest = Double.infinity
            for _ in 0..<max(rounds, 1) {
                fastest = min(
                    fastest, seconds { for value in values { _ = normalizer.hash(field, value) } })
            }
            print(
                String(
                    format: "    %-8@ %8.2f µs per value", field.rawValue as NSString,
                    fastest / Double(records) * 1e6))
        }
    }

    /// How long `body` took, in seconds.
    private func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

/// The Python SDK normalizing the same records, one round per request, in a process that stays
/// up between rounds so its start-up and imports are never timed.
private final class PythonPeer {
    private let process = Process()
    private let requests = Pipe()
    private let answers = Pipe()
    private var buffered: [UInt8] = []
    private let input: URL

    init(python: String, records: [[String: String]]) throws {
        input = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-bench-\(getpid()).json")
        try Data(BenchmarkRecords.json(records)).write(to: input)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("peers/python_sdk_normalize.py")
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, input.path]
        process.standardInput = requests
        process.standardOutput = answers
        try process.run()
        guard let ready = readLine(), ready == "ready" else {
            throw BenchmarkError("the Python peer did not start; is facebook-business installed?")
        }
    }

    deinit {
        try? requests.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: input)
    }

    /// Runs one round in the peer and returns its seconds.
    func round() throws -> Double {
        requests.fileHandleForWriting.write(Data("round\n".utf8))
        guard let line = readLine(), let seconds = Double(line) else {
            throw BenchmarkError("the Python peer stopped answering")
        }
        return seconds
    }

    private func readLine() -> String? {
        let descriptor = answers.fileHandleForReading.fileDescriptor
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 256)
            let count = read(descriptor, &chunk, chunk.count)
            guard count > 0 else { return nil }
            buffered += chunk[..<count]
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
