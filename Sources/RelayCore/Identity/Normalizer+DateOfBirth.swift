import Foundation

/// `db`: common ways of writing a date, as `YYYYMMDD`; impossible dates are dropped.
extension Normalizer {
    /// Accepted: `1997-02-16`, `1997/2/16`, `19970216`, `02/16/1997` and `2/16/1997` (month
    /// first by default, see ``slashedDateOrder``), `16.02.1997` (always day first),
    /// `16 Feb 1997`, `16th February 1997`, `February 16, 1997` and `Feb 16 1997`.
    ///
    /// Rejected: two-digit years (`2/16/97`: the century is a guess), February 30, month 13,
    /// years before 1900 (Meta's range) and dates after today. Meta documents `YYYYMMDD`; the
    /// Python SDK hashes whatever it is given, so `1997-02-16` there never matches.
    func normalizeDateOfBirth(_ trimmed: String) -> Result<String, DropReason> {
        let invalid = DropReason(
            .invalidDate,
            "db is not a possible date of birth; expected a date such as 1997-02-16 "
                + "between 1900 and today")
        let tokens = Self.dateTokens(Self.asciiLowercased(trimmed) ?? trimmed.lowercased())
        guard let (year, month, day) = readDate(tokens, dotted: trimmed.contains(".")),
            isPossibleBirthDate(year: year, month: month, day: day)
        else {
            return .failure(invalid)
        }
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return .success(padded(year, 4) + padded(month, 2) + padded(day, 2))
    }

    /// One part of a written date: a run of digits or a run of letters.
    enum DateToken: Equatable {
        case number(String)
        case word(String)
    }

    static func dateTokens(_ text: String) -> [DateToken] {
        var tokens: [DateToken] = []
        var current = ""
        var currentIsNumber = false
        func flush() {
            guard !current.isEmpty else { return }
            tokens.append(currentIsNumber ? .number(current) : .word(current))
            current = ""
        }
        for char in text {
            if char.isASCIIDigit || char.isLetter {
                if !current.isEmpty && currentIsNumber != char.isASCIIDigit { flush() }
                currentIsNumber = char.isASCIIDigit
                current.append(char)
            } else {
                flush()
            }
        }
        flush()

        // Ordinal suffixes (16th, 1st) carry no information.
        return tokens.filter {
            $0 != .word("st") && $0 != .word("nd") && $0 != .word("rd")
                && $0 != .word("th")
        }
    }

    private func readDate(_ tokens: [DateToken], dotted: Bool) -> (Int, Int, Int)? {
        // 19970216
        if tokens.count == 1, case .number(let n) = tokens[0], n.count == 8 {
            return (Int(n.prefix(4))!, Int(n.dropFirst(4).prefix(2))!, Int(n.suffix(2))!)
        }
        guard tokens.count == 3 else { return nil }

        let words = tokens.compactMap { if case .word(let w) = $0 { w } else { nil } }
        let numbers = tokens.compactMap { if case .number(let n) = $0 { n } else { nil } }
        if words.count == 1 {
            // 16 Feb 1997, February 16 1997: one 4-digit year and a day of up to 2 digits.
            guard let month = Self.month(named: words[0]),
                let yearText = numbers.first(where: { $0.count == 4 }),
                let dayText = numbers.first(where: { $0.count <= 2 })
            else { return nil }
            return (Int(yearText)!, month, Int(dayText)!)
        }
        guard numbers.count == 3 else { return nil }

        let parts = numbers.map { Int($0)! }
        if numbers[0].count == 4, numbers[1].count <= 2, numbers[2].count <= 2 {
            return (parts[0], parts[1], parts[2])
        }
        guard numbers[2].count == 4, numbers[0].count <= 2, numbers[1].count <= 2 else {
            return nil
        }
        let monthFirst = (parts[2], parts[0], parts[1])
        let dayFirst = (parts[2], parts[1], parts[0])
        if dotted { return dayFirst }

        // Use the configured order unless only the other reading is a real date.
        let preferred = slashedDateOrder == .monthFirst ? monthFirst : dayFirst
        let other = slashedDateOrder == .monthFirst ? dayFirst : monthFirst
        if !Self.isCalendarDate(preferred) && Self.isCalendarDate(other) { return other }
        return preferred
    }

    private static let monthNames = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december",
    ]

    /// 1–12 for an English month name or an abbreviation of at least three letters.
    static func month(named word: String) -> Int? {
        guard word.count >= 3 else { return nil }
        if word == "sept" { return 9 }
        return monthNames.firstIndex { $0.hasPrefix(word) }.map { $0 + 1 }
    }

    static func isCalendarDate(_ date: (Int, Int, Int)) -> Bool {
        let (year, month, day) = date
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    private func isPossibleBirthDate(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1900, Self.isCalendarDate((year, month, day)) else { return false }
        // gmtime_r rather than a Calendar: building a Calendar per value cost more than the
        // rest of the normalization put together.
        var seconds = time_t((today ?? Date()).timeIntervalSince1970)
        var now = tm()
        gmtime_r(&seconds, &now)
        let todayValue =
            (Int(now.tm_year) + 1900) * 10_000 + (Int(now.tm_mon) + 1) * 100 + Int(now.tm_mday)
        return year * 10_000 + month * 100 + day <= todayValue
    }
}
