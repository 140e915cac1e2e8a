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

        // The relay: normalize and hash every field of every record.
        var hashed = 0
        let relay = best(of: rounds) {
            hashed = 0
            for record in entries {
                for (field, value) in record {
                    if case .success = normalizer.hash(field, value) { hashed += 1 }
                }
            }
        }

        // The ceiling: SHA-256 alone over the strings the relay would hash.
        var normalized: [String] = []
        for record in entries {
            for (field, value) in record {
                if case .value(let value) = normalizer.normalize(field, value) {
                    normalized.append(value)
                }
            }
        }
        let ceiling = best(of: rounds) {
            for value in normalized { _ = Crypto.sha256Hex(value) }
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

        // Per field, to show where the time goes.
        for field in fields {
            let values = data.map { $0[field.rawValue] ?? "" }
            let seconds = best(of: rounds) {
                for value in values { _ = normalizer.hash(field, value) }
            }
            print(
                String(
                    format: "    %-8@ %8.2f µs per value", field.rawValue as NSString,
                    seconds / Double(records) * 1e6))
        }

        guard let python else {
            print("  python sdk      skipped (pass --python PATH with facebook-business installed)")
            return
        }
        let sdkRate = try pythonRate(python: python, records: data)
        print(
            String(
                format: "  python sdk      %10.0f records/s  (relay is %.1f× faster)",
                sdkRate, relayRate / sdkRate))
    }

    /// The fastest of `rounds` runs, in seconds.
    private func best(of rounds: Int, _ body: () -> Void) -> Double {
        var fastest = Double.infinity
        for _ in 0..<max(rounds, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            fastest = min(fastest, seconds)
        }
        return fastest
    }

    /// Runs the peer script on the same records and reads its records per second.
    private func pythonRate(python: String, records: [[String: String]]) throws -> Double {
        let input = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-bench-\(getpid()).json")
        try Data(BenchmarkRecords.json(records)).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("peers/python_sdk_normalize.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, input.path, String(rounds)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(
            decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0,
            let rate = Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw BenchmarkError("the Python peer failed: \(text.prefix(200))")
        }
        return rate
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
