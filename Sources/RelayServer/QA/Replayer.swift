import Foundation
import RelayCore
import RelayDelivery
import RelayIngest

/// What a replay did.
public struct ReplaySummary: Sendable, Equatable {
    public var bodies = 0
    /// Answered 200 by the relay.
    public var accepted = 0
    /// Answered with another status, by status.
    public var refused: [Int: Int] = [:]
    /// Why, in the receiver's words: each distinct answer once, in the order first met, with
    /// the number of bodies it was given to. At most `Refusal.kept` of them.
    public var refusals: [Refusal] = []
    /// No answer (connection refused, timeout).
    public var unreachable = 0
    /// Lines that were not JSON, skipped.
    public var unreadable = 0

    public var succeeded: Bool {
        refused.isEmpty && unreachable == 0 && unreadable == 0 && bodies > 0
    }

    /// One refusal text and how many bodies got it.
    public struct Refusal: Sendable, Equatable {
        public var status: Int
        /// The first line of the answer's text, cut to `longest` characters; empty when the
        /// answer had none, or was not plain text.
        public var reason: String
        public var bodies: Int

        /// Distinct refusals kept: a receiver that words each one differently (a malformed
        /// body names its bad field) must not fill the screen.
        public static let kept = 10
        static let longest = 200

        public init(status: Int, reason: String, bodies: Int) {
            self.status = status
            self.reason = reason
            self.bodies = bodies
        }

        /// The reason in an answer, safe to print: only plain text, as the relay refuses with
        /// in its own words (never quoting a message's text), and of that the first line
        /// without control characters. Nothing of the request body is ever shown.
        public static func reason(in response: OutboundResponse) -> String {
            guard (response.headers["content-type"] ?? "").hasPrefix("text/plain") else {
                return ""
            }
            let text = String(decoding: response.body.prefix(4096), as: UTF8.self)
            let line = text.split(whereSeparator: \.isNewline).first ?? ""
            var printable = String.UnicodeScalarView()
            printable.append(
                contentsOf: line.unicodeScalars.filter {
                    !CharacterSet.controlCharacters.contains($0)
                })
            let reason = String(printable).trimmingCharacters(in: .whitespaces)
            return reason.count > longest ? String(reason.prefix(longest)) + "…" : reason
        }

        /// `refused with HTTP 400 (6 bodies): reason`, one line.
        public var line: String {
            let count = bodies == 1 ? "1 body" : "\(bodies) bodies"
            let why = reason.isEmpty ? "no reason given" : reason
            return "refused with HTTP \(status) (\(count)): \(why)"
        }
    }

    /// Counts a refusal under its reason.
    mutating func record(refusal status: Int, reason: String) {
        refused[status, default: 0] += 1
        if let index = refusals.firstIndex(where: { $0.status == status && $0.reason == reason }) {
            refusals[index].bodies += 1
        } else if refusals.count < Refusal.kept {
            refusals.append(Refusal(status: status, reason: reason, bodies: 1))
        }
    }

    /// The refusals, one line each, and a last line for those past `Refusal.kept`.
    public var refusalLines: [String] {
        var lines = refusals.map(\.line)
        let unlisted = refused.values.reduce(0, +) - refusals.map(\.bodies).reduce(0, +)
        if unlisted > 0 {
            lines.append(
                "refused \(unlisted) more bodies for other reasons (the first"
                    + " \(Refusal.kept) are shown)")
        }
        return lines
    }

    /// One line for the end of a replay.
    public var text: String {
        var parts = ["\(accepted) accepted"]
        for status in refused.keys.sorted() {
            parts.append("\(refused[status] ?? 0) refused with HTTP \(status)")
        }
        if unreachable > 0 { parts.append("\(unreachable) without an answer") }
        if unreadable > 0 { parts.append("\(unreadable) lines not JSON, skipped") }
        return "replayed \(bodies) webhook bodies: " + parts.joined(separator: ", ")
    }
}

/// Posts recorded webhook bodies to a relay again, each signed as Meta signs it.
///
/// The bodies are JSON lines as `capi-relay journal export-bodies` writes them. The relay
/// treats them as redeliveries: conversions it already has are dedupe hits, so a replay into
/// the relay that recorded them sends nothing twice, and a replay into a fresh relay sends each
/// conversion once.
public struct Replayer: Sendable {
    public var url: URL
    public var appSecret: String
    /// Sent as `X-Capi-Relay-Test-Event-Code`; the relay must accept it (see `Relay`).
    public var testEventCode: String?
    public var transport: any OutboundHTTP
    public var timeoutSeconds: Double = 10

    public init(
        url: URL, appSecret: String, testEventCode: String?,
        transport: any OutboundHTTP = URLSessionTransport()
    ) {
        self.url = url
        self.appSecret = appSecret
        self.testEventCode = testEventCode
        self.transport = transport
    }

    /// The non-empty lines of a JSON-lines file.
    public static func lines(of text: String) -> [Substring] {
        text.split(whereSeparator: \.isNewline).filter {
            !$0.allSatisfy(\.isWhitespace)
        }
    }

    /// Posts every line in order, one at a time, calling `progress` after each with the
    /// number done.
    public func run(_ lines: [Substring], progress: (Int) -> Void) -> ReplaySummary {
        var summary = ReplaySummary()
        for (index, line) in lines.enumerated() {
            defer { progress(index + 1) }
            let body = Array(line.utf8)
            guard (try? JSONValue(parsing: body)) != nil else {
                summary.unreadable += 1
                continue
            }
            summary.bodies += 1
            var headers = [
                "Content-Type": "application/json",
                "X-Hub-Signature-256": MessengerSignature.header(for: body, appSecret: appSecret),
            ]
            if let testEventCode { headers[Relay.testEventCodeHeader] = testEventCode }
            switch transport.post(
                url: url, headers: headers, body: body, timeoutSeconds: timeoutSeconds)
            {
            case .success(let response) where response.status == 200:
                summary.accepted += 1
            case .success(let response):
                summary.record(
                    refusal: response.status, reason: ReplaySummary.Refusal.reason(in: response))
            case .failure:
                summary.unreachable += 1
            }
        }
        return summary
    }
}
