import Glibc

/// Formats the `Date` response header (IMF-fixdate, RFC 9110 §5.6.7).
///
/// Written by hand with `gmtime_r` rather than a `DateFormatter`: the header is produced for
/// every response, must not depend on the process locale, and needs only second precision.
enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// For example `Sun, 06 Nov 1994 08:49:37 GMT`.
    ///
    /// - Parameter secondsSince1970: Unix time in whole seconds, UTC.
    static func format(secondsSince1970: Int) -> String {
        var seconds = time_t(secondsSince1970)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil,
            weekdays.indices.contains(Int(parts.tm_wday)),
            months.indices.contains(Int(parts.tm_mon))
        else {
            // Only a time far outside any real clock gets here; the epoch is still a valid date.
            return "Thu, 01 Jan 1970 00:00:00 GMT"
        }
        let weekday = weekdays[Int(parts.tm_wday)]
        let month = months[Int(parts.tm_mon)]
        let year = Int(parts.tm_year) + 1900
        let clock = [parts.tm_hour, parts.tm_min, parts.tm_sec].map(twoDigits)
            .joined(separator: ":")
        return "\(weekday), \(twoDigits(parts.tm_mday)) \(month) \(year) \(clock) GMT"
    }

    /// The current wall-clock time in whole seconds, for deciding when to reformat.
    static func currentSecond() -> Int {
        Int(time(nil))
    }

    private static func twoDigits(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
