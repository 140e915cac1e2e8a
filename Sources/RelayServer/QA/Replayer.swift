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
    /// No answer (connection refused, timeout).
    public var unreachable = 0
    /// Lines that were not JSON, skipped.
    public var unreadable = 0

    public var succeeded: Bool {
        refused.isEmpty && unreachable == 0 && unreadable == 0 && bodies > 0
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
                summary.refused[response.status, default: 0] += 1
            case .failure:
                summary.unreachable += 1
            }
        }
        return summary
    }
}
