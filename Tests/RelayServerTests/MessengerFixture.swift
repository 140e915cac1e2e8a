import Foundation
import RelayIngest

/// The shared Messenger fixtures, moved to the present and signed as Meta would sign them.
enum MessengerFixture {
    static let appSecret = "fixture-app-secret"
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RelayIngestTests/Fixtures/messenger")

    /// The fixture's bytes as stored (timestamps from December 2025).
    static func original(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The fixture with every `time`, `timestamp` and `watermark` moved so that the earliest
    /// is `secondsAgo` before now; relative spacing is kept.
    static func shifted(_ name: String, secondsAgo: Int64 = 30) throws -> [UInt8] {
        let text = String(decoding: try original(name), as: UTF8.self)
        let pattern = try NSRegularExpression(pattern: #""(time|timestamp|watermark)":(\d{13})"#)
        let matches = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
        let values = matches.compactMap { match in
            Range(match.range(at: 2), in: text).flatMap { Int64(text[$0]) }
        }
        guard let earliest = values.min() else { return Array(text.utf8) }
        let delta = Int64(Date().timeIntervalSince1970 * 1000) - secondsAgo * 1000 - earliest

        var result = text
        for match in matches.reversed() {
            guard let range = Range(match.range(at: 2), in: result),
                let value = Int64(result[range])
            else { continue }
            result.replaceSubrange(range, with: String(value + delta))
        }
        return Array(result.utf8)
    }

    /// `X-Hub-Signature-256` for these exact bytes.
    static func signature(_ body: [UInt8], secret: String = appSecret) -> String {
        MessengerSignature.header(for: body, appSecret: secret)
    }

    /// A body holding the `entry` arrays of several bodies, in order: Meta's batched delivery.
    static func batch(_ bodies: [[UInt8]]) throws -> [UInt8] {
        var entries: [Any] = []
        for body in bodies {
            let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            entries += (object?["entry"] as? [Any]) ?? []
        }
        return Array(
            try JSONSerialization.data(withJSONObject: ["object": "page", "entry": entries]))
    }
}
