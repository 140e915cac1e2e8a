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
        let invalid = Self.invalidDate
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
        let values = numbers.map { Int($0.prefix(9))! }
        return readNumericDate(
            counts: (numbers[0].count, numbers[1].count, numbers[2].count),
            values: (values[0], values[1], values[2]), dotted: dotted)
    }

    /// Year, month and day from three numbers, by their digit counts: year first (`1997-2-16`),
    /// or year last with the order decided by dots and ``slashedDateOrder``.
    ///
    /// Counts are checked before values are used, so a run of 30 digits is refused, not read.
    func readNumericDate(counts: (Int, Int, Int), values: (Int, Int, Int), dotted: Bool)
        -> (Int, Int, Int)?
    {
        if counts.0 == 4, counts.1 <= 2, counts.2 <= 2 { return values }
        guard counts.2 == 4, counts.0 <= 2, counts.1 <= 2 else { return nil }
        let monthFirst = (values.2, values.0, values.1)
        let dayFirst = (values.2, values.1, values.0)
        if dotted { return dayFirst }

        // Use the configured order unless only the other reading is a real date.
        let preferred = slashedDateOrder == .monthFirst ? monthFirst : dayFirst
        let other = slashedDateOrder == .monthFirst ? dayFirst : monthFirst
        if !Self.isCalendarDate(preferred) && Self.isCalendarDate(other) { return other }
        return preferred
    }

    static let invalidDate = DropReason(
        .invalidDate,
        "db is not a possible date of birth; expected a date such as 1997-02-16 "
            + "between 1900 and today")

    private static let monthNames = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september",
        "october", "november", "december",
    ]

    /// 1–12 for an English month name or an abbreviation of at least three letters.
    static func month(named word: String) -> Int? {
        var word = word
        return word.withUTF8(month(named:))
    }

    /// ``month(named:)`` on the word's UTF-8 bytes, compared byte by byte.
    static func month(named word: UnsafeBufferPointer<UInt8>) -> Int? {
        guard word.count >= 3 else { return nil }
        if word.elementsEqual("sept".utf8) { return 9 }
        return monthNameBytes.firstIndex { name in
            name.count >= word.count && name.prefix(word.count).elementsEqual(word)
        }.map { $0 + 1 }
    }

    private static let monthNameBytes = monthNames.map { Array($0.utf8) }

    static func isCalendarDate(_ date: (Int, Int, Int)) -> Bool {
        let (year, month, day) = date
        guard (1...12).contains(month), day >= 1 else { return false }
        switch month {
        case 2:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return day <= (leap ? 29 : 28)
        case 4, 6, 9, 11:
            return day <= 30
        default:
            return day <= 31
        }
    }

    func isPossibleBirthDate(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1900, Self.isCalendarDate((year, month, day)) else { return false }
        // A year before the one the process started in is past whatever the clock says now.
        if today == nil && year < Self.yearAtStart { return true }
        // time() rather than Date(): this runs for every date of birth.
        let now = today?.timeIntervalSince1970 ?? Double(time(nil))
        let (todayYear, todayMonth, todayDay) = Self.civilDate(secondsSince1970: now)
        return year * 10_000 + month * 100 + day
            <= todayYear * 10_000 + todayMonth * 100 + todayDay
    }

    /// The UTC year when the normalizer was first used.
    private static let yearAtStart = civilDate(secondsSince1970: Double(time(nil))).0

    /// The UTC calendar date of an instant, by arithmetic on the day count (the proleptic
    /// Gregorian "civil from days" conversion), because a Calendar, or even `gmtime_r`, per
    /// value cost more than the rest of the date rules.
    static func civilDate(secondsSince1970 seconds: Double) -> (Int, Int, Int) {
        let days = Int((seconds / 86_400).rounded(.down))
        let shifted = days + 719_468  // days from 0000-03-01, so leap days end each year
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra =
            (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let marchMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * marchMonth + 2) / 5 + 1
        let month = marchMonth < 10 ? marchMonth + 3 : marchMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
