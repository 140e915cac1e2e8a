import Foundation

/// Reads the time a `--since` option names, and the created-time column of a CRM export.
public enum QATime {
    /// Epoch milliseconds for `text`: an ISO 8601 date (`2025-12-01`, read as UTC midnight) or
    /// date and time (`2025-12-01T09:30:00Z`, with an offset or fraction), Unix seconds
    /// (`1764547200`) or milliseconds (13 digits), or a duration back from `now` (`90m`,
    /// `24h`, `7d`). Nil when it is none of these.
    public static func parse(_ text: String, nowMillis: Int64) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }

        if let unit = trimmed.last, "mhd".contains(unit),
            let amount = Int64(trimmed.dropLast()), amount >= 0
        {
            let unitMillis: Int64 = unit == "m" ? 60_000 : unit == "h" ? 3_600_000 : 86_400_000
            return nowMillis - amount * unitMillis
        }
        if trimmed.allSatisfy(\.isNumber), let number = Int64(trimmed) {
            return trimmed.count >= 13 ? number : number * 1000
        }
        if trimmed.count == 10, let date = dayFormatter().date(from: trimmed) {
            return Int64(date.timeIntervalSince1970 * 1000)
        }
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed) {
                return Int64(date.timeIntervalSince1970 * 1000)
            }
        }
        // Spreadsheets often write a space instead of the T, and no zone: read it as UTC.
        let spaced = DateFormatter()
        spaced.locale = Locale(identifier: "en_US_POSIX")
        spaced.timeZone = TimeZone(identifier: "UTC")
        spaced.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return spaced.date(from: trimmed).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    /// UTC, to the second, as reports print times.
    public static func format(millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    private static func dayFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }
}
