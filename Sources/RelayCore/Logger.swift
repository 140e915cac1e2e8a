import Foundation

/// Structured logging: a fixed lowercase message and key=value metadata.
///
/// Messages are phrases an operator can grep for ("delivery failed"); the values that vary go
/// in metadata. Callers pass ids, counts, codes and field names, never a secret, raw personal
/// data or message text.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case trace, debug, info, notice, warning, error

        public var name: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Receives each entry at or above the logger's level.
    public typealias Sink =
        @Sendable (_ level: Level, _ message: String, _ metadata: [(String, String)])
        -> Void

    public var level: Level
    private let sink: Sink

    public init(level: Level = .info, sink: @escaping Sink) {
        self.level = level
        self.sink = sink
    }

    /// A logger that drops everything; for tests and tools that must stay quiet.
    public static let silent = Logger(level: .error) { _, _, _ in }

    public func log(_ level: Level, _ message: String, _ metadata: [(String, String)] = []) {
        guard level >= self.level else { return }
        sink(level, message, metadata)
    }

    public func debug(_ message: String, _ metadata: [(String, String)] = []) {
        log(.debug, message, metadata)
    }

    public func info(_ message: String, _ metadata: [(String, String)] = []) {
        log(.info, message, metadata)
    }

    public func notice(_ message: String, _ metadata: [(String, String)] = []) {
        log(.notice, message, metadata)
    }

    public func warning(_ message: String, _ metadata: [(String, String)] = []) {
        log(.warning, message, metadata)
    }

    public func error(_ message: String, _ metadata: [(String, String)] = []) {
        log(.error, message, metadata)
    }

    /// How a log line is written: logfmt for people and grep, JSON for log shippers.
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    /// One line in `format`, without the newline.
    public static func line(
        _ format: Format, time: Date, level: Level, message: String, metadata: [(String, String)]
    ) -> String {
        switch format {
        case .logfmt: logfmt(time: time, level: level, message: message, metadata: metadata)
        case .json: json(time: time, level: level, message: message, metadata: metadata)
        }
    }

    /// One JSON object: `{"time":"…","level":"…","msg":"…","key":"value"}`, every value a
    /// string, keys in the order given. A metadata key that would shadow `time`, `level` or
    /// `msg` is written with a leading underscore, so that no field is lost or ambiguous.
    public static func json(
        time: Date, level: Level, message: String, metadata: [(String, String)]
    ) -> String {
        var line = "{\"time\":\(jsonString(time.ISO8601Format())),\"level\":\"\(level.name)\""
        line += ",\"msg\":\(jsonString(message))"
        for (key, value) in metadata {
            let name = ["time", "level", "msg"].contains(key) ? "_" + key : key
            line += ",\(jsonString(name)):\(jsonString(value))"
        }
        return line + "}"
    }

    private static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One logfmt line: `time=… level=… msg="…" key=value`.
    public static func logfmt(
        time: Date, level: Level, message: String, metadata: [(String, String)]
    ) -> String {
        var line = "time=\(time.ISO8601Format()) level=\(level.name) msg=\(quote(message))"
        for (key, value) in metadata {
            line += " \(key)=\(quote(value))"
        }
        return line
    }

    private static func quote(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" }
            || value.unicodeScalars.contains { $0.value < 0x20 }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
