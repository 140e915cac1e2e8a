import Foundation
import RelayTestSupport

/// A scrape of `/metrics`, checked line by line against the text exposition format and read
/// into series, as Prometheus would.
struct PrometheusScrape {
    /// `name{a="1",b="2"}` → value; labels sorted by name in the key.
    private(set) var series: [String: Double] = [:]
    /// Family name → its `# TYPE`.
    private(set) var types: [String: String] = [:]
    private(set) var helps: Set<String> = []

    /// - Throws: on the first line that is not HELP, TYPE or a sample, a sample before its
    ///   family's TYPE, or a value that does not parse.
    init(_ text: String) throws {
        guard text.hasSuffix("\n") else {
            throw TestFailure("the exposition must end in a newline")
        }
        let sample = try NSRegularExpression(
            pattern: #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$"#)
        let label = try NSRegularExpression(
            pattern: #"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#)
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count == 4 else { throw TestFailure("HELP without text: \(line)") }
                helps.insert(String(parts[2]))
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram"].contains(parts[3]),
                    helps.contains(String(parts[2]))
                else { throw TestFailure("bad TYPE line, or TYPE before HELP: \(line)") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            let range = NSRange(line.startIndex..., in: line)
            guard let match = sample.firstMatch(in: line, range: range),
                let nameRange = Range(match.range(at: 1), in: line),
                let valueRange = Range(match.range(at: 4), in: line)
            else { throw TestFailure("not a sample line: \(line)") }
            let name = String(line[nameRange])
            let family = ["_bucket", "_sum", "_count"].reduce(name) { family, suffix in
                types[family] == nil && family.hasSuffix(suffix)
                    ? String(family.dropLast(suffix.count)) : family
            }
            guard types[family] != nil else { throw TestFailure("sample before its TYPE: \(line)") }
            let valueText = String(line[valueRange])
            guard let value = Double(valueText == "+Inf" ? "inf" : valueText) else {
                throw TestFailure("bad value: \(line)")
            }
            var pairs: [(String, String)] = []
            if let labelsRange = Range(match.range(at: 3), in: line) {
                let labels = String(line[labelsRange])
                let all = NSRange(labels.startIndex..., in: labels)
                for found in label.matches(in: labels, range: all) {
                    pairs.append(
                        (
                            String(labels[Range(found.range(at: 1), in: labels)!]),
                            String(labels[Range(found.range(at: 2), in: labels)!])
                        ))
                }
            }
            series[Self.key(name, pairs)] = value
        }
    }

    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        let sorted = labels.sorted { $0.0 < $1.0 }
        guard !sorted.isEmpty else { return name }
        return name + "{" + sorted.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
    }

    /// One series' value, 0 when absent.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        series[Self.key(name, labels.map { ($0.key, $0.value) })] ?? 0
    }

    /// The sum over every series of `name` whose labels include `matching`.
    func sum(_ name: String, where matching: [String: String] = [:]) -> Double {
        series.filter { key, _ in
            (key == name || key.hasPrefix(name + "{"))
                && matching.allSatisfy { key.contains("\($0.key)=\"\($0.value)\"") }
        }.values.reduce(0, +)
    }
}
