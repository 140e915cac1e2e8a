/// One metric family as a scrape shows it: a name, its help line, its type and its samples.
///
/// Families are plain values built at scrape time, so that rendering is a pure function and
/// can be tested against exact text without a server.
struct MetricFamily: Sendable, Equatable {
    enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// One line of the exposition: `name{labels} value`.
    struct Sample: Sendable, Equatable {
        /// Appended to the family name: `_bucket`, `_sum`, `_count`, or empty.
        var suffix = ""
        /// In the order they are written. Values are any text; rendering escapes them.
        var labels: [(String, String)]
        var value: Double

        static func == (lhs: Sample, rhs: Sample) -> Bool {
            lhs.suffix == rhs.suffix && lhs.value == rhs.value
                && lhs.labels.map(\.0) == rhs.labels.map(\.0)
                && lhs.labels.map(\.1) == rhs.labels.map(\.1)
        }
    }

    var name: String
    var help: String
    var kind: Kind
    var samples: [Sample]
}

/// The Prometheus text exposition format, version 0.0.4.
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Every family in order: `# HELP`, `# TYPE`, then its samples, one per line.
    static func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for family in families {
            out += "# HELP \(family.name) \(escapeHelp(family.help))\n"
            out += "# TYPE \(family.name) \(family.kind.rawValue)\n"
            for sample in family.samples {
                out += family.name + sample.suffix
                if !sample.labels.isEmpty {
                    let pairs = sample.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }
                    out += "{" + pairs.joined(separator: ",") + "}"
                }
                out += " " + format(sample.value) + "\n"
            }
        }
        return out
    }

    /// Integers without a fraction, infinities as Prometheus spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Label values also escape the double quote that closes them.
    static func escapeLabel(_ text: String) -> String {
        escapeHelp(text).replacingOccurrences(of: "\"", with: "\\\"")
    }
}
