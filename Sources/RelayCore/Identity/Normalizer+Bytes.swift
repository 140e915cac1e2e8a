/// The byte-level path: the same rules as the String-based path, applied to UTF-8 bytes in a
/// stack buffer, for values made of scalars below U+0300 (see ``LatinScalarTable``).
///
/// Normalizing and hashing runs once per identifier on every conversion, and the String-based
/// rules spent most of their time building intermediate Strings and arrays, not deciding
/// anything. This path allocates nothing until the final value. It covers what it can decide
/// exactly; anything else (Greek, CJK, combining marks, `İ`, an address with non-ASCII
/// characters, over-long input) is ``FastResult/unsupported`` and goes to the String-based path,
/// which stays the reference. `NormalizerFastPathTests` compares the two on generated input.
extension Normalizer {
    /// What the byte path made of one value.
    enum FastResult: Equatable {
        /// The normalized value is the first `count` bytes of the output buffer.
        case value(count: Int)
        /// The input was a SHA-256 digest; the first `count` bytes are it, lowercased.
        case alreadyHashed(count: Int)
        case dropped(DropReason)
        /// The byte path does not cover this value; the String-based path decides.
        case unsupported
    }

    /// Longer values take the String-based path; real identifiers are far shorter.
    static let fastPathCapacity = 256

    /// Runs the byte path and hands its output to `body`, or returns nil when the value needs
    /// the String-based path.
    ///
    /// - Parameter body: gets the normalized bytes and whether they already were a hash.
    func withFastNormalized<R>(
        _ field: CustomerField, _ raw: String,
        _ body: (UnsafeBufferPointer<UInt8>, _ alreadyHashed: Bool) -> R
    ) -> Result<R, DropReason>? {
        let outcome: Result<R, DropReason>?? = raw.utf8.withContiguousStorageIfAvailable {
            input in
            guard input.count <= Self.fastPathCapacity else { return nil }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.fastPathCapacity) {
                out in
                switch fastNormalize(field, input, into: out) {
                case .value(let count):
                    return .success(body(UnsafeBufferPointer(rebasing: out[..<count]), false))
                case .alreadyHashed(let count):
                    return .success(body(UnsafeBufferPointer(rebasing: out[..<count]), true))
                case .dropped(let reason):
                    return .failure(reason)
                case .unsupported:
                    return nil
                }
            }
        }
        return outcome ?? nil
    }

    /// The byte path for one value; `out` holds at least ``fastPathCapacity`` bytes.
    func fastNormalize(
        _ field: CustomerField, _ input: UnsafeBufferPointer<UInt8>,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        guard input.count <= Self.fastPathCapacity else { return .unsupported }
        let table = LatinScalarTable.shared
        guard let (start, end) = Self.trimmedBounds(input, table) else { return .unsupported }
        guard start < end else { return .dropped(.empty(field)) }
        let value = UnsafeBufferPointer(rebasing: input[start..<end])

        if let count = Self.lowercasedDigest(value, into: out) {
            return .alreadyHashed(count: count)
        }

        let result: FastResult
        switch field {
        case .email: result = Self.fastEmail(value, table, into: out)
        case .phone: result = fastPhone(value, into: out)
        case .firstName, .lastName: result = Self.fastText(value, .name, table, into: out)
        case .city: result = Self.fastText(value, .city, table, into: out)
        case .state: result = Self.fastState(value, table, into: out)
        case .zip: result = Self.fastZip(value, table, into: out)
        case .country:
            result = Self.fastLookup(
                value, table, CountryTable.alpha2(folded:), orDrop: Self.unknownCountry, into: out)
        case .gender:
            result = Self.fastLookup(
                value, table, { Self.genderBySpelling[$0] }, orDrop: Self.unknownGender,
                into: out)
        case .dateOfBirth: result = fastDateOfBirth(value, into: out)
        case .externalID:
            _ = out.initialize(from: value)
            result = .value(count: value.count)
        }

        // A value that cleans down to nothing is dropped, as on the String-based path.
        if case .value(0) = result { return .dropped(.empty(field)) }
        return result
    }

    // MARK: - Scalars

    /// A scalar value past every covered one: the byte path gives up on it.
    private static let uncovered: UInt32 = .max

    /// Decodes the scalar at `index` and moves past it; ``uncovered`` for a scalar at or past
    /// U+0300. The bytes come from a Swift String, so they are valid UTF-8.
    @inline(__always)
    private static func nextScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: inout Int)
        -> UInt32
    {
        let lead = bytes[index]
        if lead < 0x80 {
            index += 1
            return UInt32(lead)
        }
        guard lead >= 0xC2, lead < 0xCC, index + 1 < bytes.count else { return uncovered }
        let scalar = (UInt32(lead & 0x1F) << 6) | UInt32(bytes[index + 1] & 0x3F)
        index += 2
        return scalar
    }

    /// Appends a scalar below U+0800 as UTF-8.
    @inline(__always)
    private static func append(
        _ scalar: UInt32, _ out: UnsafeMutableBufferPointer<UInt8>, _ count: inout Int
    ) {
        if scalar < 0x80 {
            out[count] = UInt8(scalar)
            count += 1
        } else {
            out[count] = 0xC0 | UInt8(scalar >> 6)
            out[count + 1] = 0x80 | UInt8(scalar & 0x3F)
            count += 2
        }
    }

    /// The byte range left after removing surrounding whitespace, or nil when a scalar at
    /// either edge is one the table does not cover (it might be whitespace).
    private static func trimmedBounds(
        _ bytes: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable
    ) -> (Int, Int)? {
        var start = 0
        while start < bytes.count {
            var next = start
            let scalar = nextScalar(bytes, &next)
            guard scalar != uncovered else { return nil }
            guard table.flags[Int(scalar)].hasAny(.whitespace) else { break }
            start = next
        }

        var end = bytes.count
        while end > start {
            let last = bytes[end - 1]
            var scalarStart = end - 1
            if last >= 0x80 {
                // The only covered multi-byte scalars are two bytes long.
                guard end - 2 >= start, bytes[end - 2] >= 0xC2, bytes[end - 2] < 0xCC else {
                    return nil
                }
                scalarStart = end - 2
            }
            var next = scalarStart
            let scalar = nextScalar(bytes, &next)
            guard scalar != uncovered else { return nil }
            guard table.flags[Int(scalar)].hasAny(.whitespace) else { break }
            end = scalarStart
        }
        return (start, end)
    }

    /// Copies a 64-hex-digit value lowercased and returns 64; nil when it is not one.
    private static func lowercasedDigest(
        _ value: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> Int? {
        guard value.count == 64 else { return nil }
        for (index, byte) in value.enumerated() {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"):
                out[index] = byte
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                out[index] = byte + 0x20
            default:
                return nil
            }
        }
        return 64
    }

    @inline(__always)
    private static func isASCIIDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Text fields

    /// Which scalars a text field keeps, of the lowercased text.
    private enum TextRule {
        /// Letters, marks and numbers (`fn`, `ln`, and `st` outside the US and Canada).
        case name
        /// Letters and marks (`ct`).
        case city
    }

    /// Lowercase, then keep only what the rule allows.
    private static func fastText(
        _ value: UnsafeBufferPointer<UInt8>, _ rule: TextRule, _ table: LatinScalarTable,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        let keep: LatinScalarTable.Flags =
            rule == .name ? [.letterOrMark, .numeric] : .letterOrMark
        var index = 0
        var count = 0
        while index < value.count {
            let scalar = nextScalar(value, &index)
            guard scalar != uncovered else { return .unsupported }
            let flags = table.flags[Int(scalar)]
            guard flags.hasAny(.supported) else { return .unsupported }
            if flags.hasAny(keep) {
                append(UInt32(table.lowercase[Int(scalar)]), out, &count)
            }
        }
        return .value(count: count)
    }

    /// Runs `body` on the folded lookup key (lowercase letters a–z, diacritics folded), or
    /// returns nil when a scalar is not covered.
    private static func withFoldedKey<R>(
        _ value: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable,
        _ body: (UnsafeBufferPointer<UInt8>) -> R
    ) -> R? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 3 * value.count) { key in
            var index = 0
            var count = 0
            while index < value.count {
                let scalar = nextScalar(value, &index)
                guard scalar != uncovered else { return nil }
                let flags = table.flags[Int(scalar)]
                guard flags.hasAny(.supported) else { return nil }
                let packed = table.fold[Int(scalar)]
                var letters = packed & 0xFF_FFFF
                for _ in 0..<Int(packed >> 24) {
                    key[count] = UInt8(truncatingIfNeeded: letters)
                    letters >>= 8
                    count += 1
                }
            }
            return body(UnsafeBufferPointer(rebasing: key[..<count]))
        }
    }

    private static func copy(_ text: String, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in text.utf8 {
            out[count] = byte
            count += 1
        }
        return count
    }

    private static func fastState(
        _ value: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        guard let code = withFoldedKey(value, table, RegionTable.code(folded:)) else {
            return .unsupported
        }
        if let code { return .value(count: copy(code, into: out)) }
        return fastText(value, .name, table, into: out)
    }

    /// `country` and `ge`: a lookup of the folded key in the String rule's own table.
    private static func fastLookup(
        _ value: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable,
        _ lookup: (UnsafeBufferPointer<UInt8>) -> String?, orDrop reason: DropReason,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        guard let normalized = withFoldedKey(value, table, lookup) else { return .unsupported }
        guard let normalized else { return .dropped(reason) }
        return .value(count: copy(normalized, into: out))
    }

    /// Lowercase without whitespace or hyphens; nine digits in a row are a ZIP+4, cut to five.
    private static func fastZip(
        _ value: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        var index = 0
        var count = 0
        while index < value.count {
            let scalar = nextScalar(value, &index)
            guard scalar != uncovered else { return .unsupported }
            let flags = table.flags[Int(scalar)]
            guard flags.hasAny(.supported) else { return .unsupported }
            let lower = UInt32(table.lowercase[Int(scalar)])
            if lower == UInt32(UInt8(ascii: "-")) || flags.hasAny(.whitespace) { continue }
            append(lower, out, &count)
        }
        let isNineDigits =
            count == 9 && UnsafeBufferPointer(rebasing: out[..<9]).allSatisfy(isASCIIDigit)
        return .value(count: isNineDigits ? 5 : count)
    }

    // MARK: - Email

    private static func fastEmail(
        _ value: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        var index = 0
        var count = 0
        while index < value.count {
            // ASCII, nearly every address, needs no table.
            let byte = value[index]
            if byte < 0x80 {
                out[count] = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
                index += 1
                count += 1
                continue
            }
            let scalar = nextScalar(value, &index)
            guard scalar != uncovered else { return .unsupported }
            guard table.flags[Int(scalar)].hasAny(.supported) else { return .unsupported }
            append(UInt32(table.lowercase[Int(scalar)]), out, &count)
        }
        let email = UnsafeBufferPointer(rebasing: out[..<count])
        return isValidEmail(email, table) ? .value(count: count) : .dropped(invalidEmail)
    }

    // MARK: - Phone

    /// The phone rules of ``normalizePhone(_:)`` on digit bytes: the number is assembled in the
    /// lower half of `out`, the digits of the input are gathered in the upper half.
    private func fastPhone(
        _ value: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        // A combining mark on the leading `+` would change what the String path sees as the
        // first character; leave such text to it.
        if value.count > 1, value[0] == UInt8(ascii: "+"), value[1] >= 0x80 {
            return .unsupported
        }
        let half = out.count / 2
        var digitCount = 0
        for byte in value where Self.isASCIIDigit(byte) {
            guard digitCount < half - 3 else { return .unsupported }
            out[half + digitCount] = byte
            digitCount += 1
        }
        guard digitCount > 0 else { return .dropped(Self.noDigits) }
        let digits = UnsafeBufferPointer(rebasing: out[half..<(half + digitCount)])
        let zero = UInt8(ascii: "0")

        let isInternational =
            value[0] == UInt8(ascii: "+")
            || (digitCount >= 2 && digits[0] == zero && digits[1] == zero)
        if isInternational {
            return Self.fastInternational(prefix: nil, digits, into: out)
        }

        // National: the default country's rules decide.
        guard let code = defaultCallingCode, let rule = CallingCodes.rule(forCode: code) else {
            return .dropped(Self.noDefaultCallingCode)
        }
        if code == 1 {
            return Self.fastInternational(prefix: digitCount == 10 ? 1 : nil, digits, into: out)
        }
        if digits[0] == zero {
            let national =
                rule.dropsTrunkZero ? UnsafeBufferPointer(rebasing: digits.dropFirst()) : digits
            return Self.fastInternational(prefix: code, national, into: out)
        }
        if let codeLength = Self.prefixLength(of: code, in: digits),
            digitCount - codeLength >= rule.minNationalDigits
        {
            return Self.fastInternational(prefix: nil, digits, into: out)
        }
        return Self.fastInternational(prefix: code, digits, into: out)
    }

    /// The number of digits of `code` when `digits` start with it.
    private static func prefixLength(of code: Int, in digits: UnsafeBufferPointer<UInt8>) -> Int? {
        let text = String(code).utf8
        guard digits.count >= text.count else { return nil }
        for (index, byte) in text.enumerated() where digits[index] != byte { return nil }
        return text.count
    }

    /// ``international(_:)`` on `prefix` (a calling code, if any) followed by `digits`, with the
    /// result written to the start of `out`; `digits` lie in the upper half of `out`.
    private static func fastInternational(
        prefix: Int?, _ digits: UnsafeBufferPointer<UInt8>,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        // The candidate: prefix and digits, side by side in the lower half.
        var count = 0
        if let prefix { count = copy(String(prefix), into: out) }
        for byte in digits {
            out[count] = byte
            count += 1
        }

        // No leading zeros, then a calling code, then the national number.
        var start = 0
        while start < count && out[start] == UInt8(ascii: "0") { start += 1 }
        var split: (code: Int, rule: CallingCodes.Rule, length: Int)?
        var code = 0
        for length in 1...3 where count - start > length {
            code = code * 10 + Int(out[start + length - 1] - UInt8(ascii: "0"))
            if let rule = CallingCodes.rule(forCode: code) {
                split = (code, rule, length)
                break
            }
        }
        guard let split else { return .dropped(impossiblePhone) }

        var nationalStart = start + split.length
        if split.rule.dropsTrunkZero && nationalStart < count
            && out[nationalStart] == UInt8(ascii: "0")
        {
            nationalStart += 1
        }
        let nationalCount = count - nationalStart
        let lengthOK =
            split.code == 1
            ? nationalCount == 10 : nationalCount >= split.rule.minNationalDigits
        guard lengthOK, split.length + nationalCount <= CallingCodes.maxDigits else {
            return .dropped(impossiblePhone)
        }

        // Close the gaps left by removed zeros.
        var written = 0
        for index in start..<(start + split.length) {
            out[written] = out[index]
            written += 1
        }
        for index in nationalStart..<count {
            out[written] = out[index]
            written += 1
        }
        return .value(count: written)
    }

    // MARK: - Date of birth

    /// One run of letters or digits in an ASCII date.
    private struct DatePart {
        var start: Int
        var count: Int
        var isNumber: Bool

        static let none = DatePart(start: 0, count: 0, isNumber: false)
    }

    /// ``normalizeDateOfBirth(_:)`` for ASCII text.
    private func fastDateOfBirth(
        _ value: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>
    ) -> FastResult {
        // Lowercase into `out`, then split into runs; anything else separates them.
        var dotted = false
        for index in 0..<value.count {
            let byte = value[index]
            guard byte < 0x80 else { return .unsupported }
            dotted = dotted || byte == UInt8(ascii: ".")
            out[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        }
        let text = UnsafeBufferPointer(rebasing: out[..<value.count])
        // One or three parts make a date; a fourth means it is not one.
        var parts = (DatePart.none, DatePart.none, DatePart.none)
        var partCount = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            let isNumber = Self.isASCIIDigit(byte)
            guard isNumber || (byte >= 0x61 && byte <= 0x7A) else {
                index += 1
                continue
            }
            var end = index + 1
            while end < text.count {
                let next = text[end]
                let sameKind =
                    isNumber ? Self.isASCIIDigit(next) : (next >= 0x61 && next <= 0x7A)
                guard sameKind else { break }
                end += 1
            }
            let part = DatePart(start: index, count: end - index, isNumber: isNumber)
            index = end
            if !isNumber && Self.isOrdinalSuffix(text, part) { continue }
            switch partCount {
            case 0: parts.0 = part
            case 1: parts.1 = part
            case 2: parts.2 = part
            default: return .dropped(Self.invalidDate)
            }
            partCount += 1
        }

        func number(_ part: DatePart) -> Int {
            var result = 0
            for offset in 0..<min(part.count, 9) {
                result = result &* 10 &+ Int(text[part.start + offset] &- UInt8(ascii: "0"))
            }
            return result
        }

        // The same readings as the String path, on the parts.
        var date: (Int, Int, Int)?
        if partCount == 1, parts.0.isNumber, parts.0.count == 8 {
            let all = number(parts.0)
            date = (all / 10_000, all / 100 % 100, all % 100)
        } else if partCount == 3 {
            let numberCount =
                (parts.0.isNumber ? 1 : 0) + (parts.1.isNumber ? 1 : 0)
                + (parts.2.isNumber ? 1 : 0)
            if numberCount == 3 {
                date = readNumericDate(
                    counts: (parts.0.count, parts.1.count, parts.2.count),
                    values: (number(parts.0), number(parts.1), number(parts.2)), dotted: dotted)
            } else if numberCount == 2 {
                // 16 Feb 1997, February 16 1997: the word is the month; of the numbers, the
                // first of four digits is the year and the first of up to two the day.
                let (word, first, second) =
                    !parts.0.isNumber
                    ? (parts.0, parts.1, parts.2)
                    : !parts.1.isNumber ? (parts.1, parts.0, parts.2) : (parts.2, parts.0, parts.1)
                let year = first.count == 4 ? first : second.count == 4 ? second : nil
                let day = first.count <= 2 ? first : second.count <= 2 ? second : nil
                if let year, let day, let month = Self.month(named: text, word) {
                    date = (number(year), month, number(day))
                }
            }
        }
        guard let (year, month, day) = date, isPossibleBirthDate(year: year, month: month, day: day)
        else {
            return .dropped(Self.invalidDate)
        }

        // YYYYMMDD: the year is 1900 or later, so always four digits.
        func digit(_ value: Int) -> UInt8 {
            UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
        }
        out[0] = digit(year / 1000)
        out[1] = digit(year / 100)
        out[2] = digit(year / 10)
        out[3] = digit(year)
        out[4] = digit(month / 10)
        out[5] = digit(month)
        out[6] = digit(day / 10)
        out[7] = digit(day)
        return .value(count: 8)
    }

    private static func month(named text: UnsafeBufferPointer<UInt8>, _ word: DatePart) -> Int? {
        month(named: UnsafeBufferPointer(rebasing: text[word.start..<(word.start + word.count)]))
    }

    private static func isOrdinalSuffix(_ text: UnsafeBufferPointer<UInt8>, _ part: DatePart)
        -> Bool
    {
        guard part.count == 2 else { return false }
        switch (text[part.start], text[part.start + 1]) {
        case (UInt8(ascii: "s"), UInt8(ascii: "t")), (UInt8(ascii: "n"), UInt8(ascii: "d")),
            (UInt8(ascii: "r"), UInt8(ascii: "d")), (UInt8(ascii: "t"), UInt8(ascii: "h")):
            return true
        default:
            return false
        }
    }
}
