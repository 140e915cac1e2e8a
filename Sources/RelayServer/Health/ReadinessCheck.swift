import RelayHTTP

/// One condition `GET /readyz` requires, and whether it holds now.
struct ReadinessCheck: Sendable, Equatable {
    /// Short and stable, for alerts and scripts: `journal`, `draining`, `paused`, `backlog`.
    var name: String
    var passed: Bool
    /// What was found, for the operator: never a secret or personal data.
    var detail: String
}

/// What the relay needs to be ready, judged from values gathered by the caller; no I/O here.
enum Readiness {
    struct Inputs: Sendable {
        var draining: Bool
        /// Nil when the journal's writer committed the probe in time.
        var journalProblem: String?
        /// Destination (`capi`, `crm`) → why it is paused.
        var paused: [String: String]
        /// Destination → pending conversions, all datasets together; nil when the journal
        /// could not be read, so nothing is known of it.
        var backlog: [String: Int]?
        var maxBacklog: Int
    }

    /// Every check, in a fixed order, each with what it found.
    static func checks(_ inputs: Inputs) -> [ReadinessCheck] {
        var checks: [ReadinessCheck] = []
        checks.append(
            ReadinessCheck(
                name: "journal", passed: inputs.journalProblem == nil,
                detail: inputs.journalProblem ?? "writable"))
        checks.append(
            ReadinessCheck(
                name: "draining", passed: !inputs.draining,
                detail: inputs.draining
                    ? "shutting down: intake refuses new work" : "accepting new work"))
        let paused = inputs.paused.sorted { $0.key < $1.key }
        checks.append(
            ReadinessCheck(
                name: "paused", passed: paused.isEmpty,
                detail: paused.isEmpty
                    ? "no destination paused"
                    : paused.map { "\($0.key) paused: \($0.value)" }.joined(separator: "; ")))
        if let known = inputs.backlog {
            let backlog = known.sorted { $0.key < $1.key }
            let over = backlog.filter { $0.value > inputs.maxBacklog }
            let counts = backlog.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            checks.append(
                ReadinessCheck(
                    name: "backlog", passed: over.isEmpty,
                    detail: "\(counts.isEmpty ? "nothing" : counts) pending, threshold"
                        + " \(inputs.maxBacklog) per destination"))
        } else {
            checks.append(
                ReadinessCheck(
                    name: "backlog", passed: false,
                    detail: "unknown: the journal could not be read"))
        }
        return checks
    }

    /// 200 when every check passed, else 503; the body names each check, failing ones first
    /// line: `not ready: paused, backlog`.
    static func response(_ checks: [ReadinessCheck]) -> HTTPResponse {
        let failing = checks.filter { !$0.passed }.map(\.name)
        var lines = [failing.isEmpty ? "ready" : "not ready: " + failing.joined(separator: ", ")]
        for check in checks {
            lines.append("\(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)")
        }
        return .text(failing.isEmpty ? 200 : 503, lines.joined(separator: "\n"))
    }
}
