import Foundation
import RelayCore
import RelayJournal

/// `capi-relay resend --dead-letters`: choose dead letters, queue them again, and follow them
/// until the running relay has delivered them or given up again.
///
/// It works on the journal file beside the running relay (SQLite's WAL and busy timeout let
/// both write), so it needs no socket and no secret: the relay picks the events up at its
/// next delivery tick.
public enum DeadLetterResend {
    /// What a resend came to.
    public struct Summary: Sendable, Equatable {
        /// Dead letters that matched the filter.
        public var matched = 0
        /// Queued again; a dead letter whose event was re-sent meanwhile another way is not.
        public var queued = 0
        public var delivered = 0
        /// Given up on again (the cause is not fixed yet): new dead letters.
        public var failedAgain = 0
        /// Neither when the wait ran out: the relay may be stopped or still retrying.
        public var stillPending = 0

        /// One line for the terminal.
        public var line: String {
            guard matched > 0 else { return "no dead letters match" }
            return "resent \(queued) of \(matched) dead letters: delivered \(delivered),"
                + " dead-lettered again \(failedAgain), still pending \(stillPending)"
        }

        public var allDelivered: Bool { delivered == queued && matched == queued }
    }

    /// Progress: events settled (delivered or failed again) of those queued.
    public typealias Progress =
        @Sendable (_ settled: Int, _ queued: Int, _ summary: Summary) -> Void

    /// Reads `--since`: an ISO-8601 time (`2026-05-01T12:00:00Z`, or a date) or an age such
    /// as `30m`, `2h`, `7d`; nil when it is neither.
    public static func parseSince(_ text: String, now: Date = Date()) -> Int64? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()),
            amount >= 0
        {
            return Int64((now.timeIntervalSince1970 - amount * unit) * 1000)
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        return nil
    }

    /// Lists the dead letters a filter takes, oldest first.
    public static func list(
        journal: any Journal, filter: DeadLetterFilter
    ) throws(JournalError) -> [DeadLetter] {
        try journal.deadLetters(matching: filter, limit: 1_000_000)
    }

    /// Queues the matching dead letters and waits up to `waitSeconds` for their outcome.
    public static func run(
        journal: any Journal, filter: DeadLetterFilter, waitSeconds: Double,
        progress: Progress = { _, _, _ in }
    ) throws(JournalError) -> Summary {
        var summary = Summary()
        let letters = try list(journal: journal, filter: filter)
        summary.matched = letters.count
        guard !letters.isEmpty else { return summary }

        let queuedIDs = Set(
            try journal.resend(
                deadLetterIDs: letters.map(\.id),
                nowMillis: Int64(Date().timeIntervalSince1970 * 1000)))
        let queued = letters.filter { queuedIDs.contains($0.id) }
        summary.queued = queued.count
        summary.stillPending = queued.count
        progress(0, queued.count, summary)

        // Follow each queued event at its destination until it leaves `pending`.
        let deadline = Date().addingTimeInterval(waitSeconds)
        while summary.stillPending > 0 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            var next = summary
            (next.delivered, next.failedAgain, next.stillPending) = (0, 0, 0)
            for destination in Destination.allCases {
                let ids = queued.filter { $0.destination == destination }.map(\.conversionID)
                guard !ids.isEmpty else { continue }
                for (_, state) in try journal.states(of: ids, at: destination) {
                    switch state {
                    case "sent": next.delivered += 1
                    case "pending": next.stillPending += 1
                    default: next.failedAgain += 1
                    }
                }
            }
            if next != summary {
                summary = next
                progress(summary.delivered + summary.failedAgain, queued.count, summary)
            }
        }
        return summary
    }

    /// `[#########-----------]  9/20`: a bar `width` cells wide.
    public static func bar(settled: Int, of total: Int, width: Int = 30) -> String {
        let filled = total == 0 ? width : min(width, settled * width / total)
        return "[" + String(repeating: "#", count: filled)
            + String(repeating: "-", count: width - filled) + "] \(settled)/\(total)"
    }
}
