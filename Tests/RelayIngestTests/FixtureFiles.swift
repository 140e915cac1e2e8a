import Foundation

/// Reads the Messenger fixtures beside these tests, as raw bytes: signatures are over bytes.
enum FixtureFiles {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/messenger")

    static func body(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The `X-Hub-Signature-256` value recorded for a fixture.
    static func signature(_ name: String) throws -> String {
        let text = try String(
            contentsOf: directory.appendingPathComponent("SIGNATURES.txt"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 && parts[0] == name { return String(parts[1]) }
        }
        throw CocoaError(.fileReadNoSuchFile)
    }
}
