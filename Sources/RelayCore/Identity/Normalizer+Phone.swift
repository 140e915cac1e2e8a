/// `ph`: digits only, with the country code, without an international `00` or a trunk `0`.
extension Normalizer {
    /// Meta: "remove symbols, letters, and any leading zeros", and always include the country
    /// code. Concretely:
    /// - everything but digits goes, letters included (`44-12390821300A` → `4412390821300`);
    /// - `+` or a leading `00` mark an international number; the `00` is removed;
    /// - a national number gets the default country's calling code (`(650)555-1212` →
    ///   `16505551212`), losing its trunk `0` where that country dials one (`020 …` in the UK);
    /// - a trunk `0` written after a country code goes too (`+44 (0)20 7946 0000` →
    ///   `442079460000`); Meta's text does not address this case, but a number with it is not
    ///   one anybody dials from abroad, and Snap's CAPI docs state the same rule;
    /// - what cannot be a number is dropped: no known calling code, a national part shorter
    ///   than the country allows, a North American number that is not ten digits, or more than
    ///   E.164's 15 digits.
    ///
    /// A number written without `+` that does not fit the default country (12 digits with the
    /// US default, say) is read as already carrying its country code, which is how CRMs that
    /// follow Meta's advice store numbers.
    func normalizePhone(_ trimmed: String) -> Result<String, DropReason> {
        var digits = Substring(String(trimmed.unicodeScalars.filter { ("0"..."9").contains($0) }))
        guard !digits.isEmpty else { return .failure(Self.noDigits) }

        if trimmed.hasPrefix("+") || digits.hasPrefix("00") {
            return Self.international(digits)
        }

        // National: the default country's rules decide.
        guard let code = defaultCallingCode, let rule = CallingCodes.rules[code] else {
            return .failure(Self.noDefaultCallingCode)
        }
        let codeDigits = String(code)
        if code == 1 {
            // Ten digits are national; anything else must already carry 1 or another code.
            return Self.international(digits.count == 10 ? codeDigits + digits : String(digits))
        }
        if digits.hasPrefix("0") {
            if rule.dropsTrunkZero { digits = digits.dropFirst() }
            return Self.international(codeDigits + digits)
        }
        if digits.hasPrefix(codeDigits) && digits.count - codeDigits.count >= rule.minNationalDigits
        {
            return Self.international(digits)
        }
        return Self.international(codeDigits + digits)
    }

    /// Validates digits that start with a calling code (after any `00`) and removes a trunk 0.
    static func international<S: StringProtocol>(_ raw: S) -> Result<String, DropReason> {
        let invalid = impossiblePhone
        var digits = Substring(raw)
        while digits.hasPrefix("0") { digits = digits.dropFirst() }
        guard let (code, rule, national) = CallingCodes.split(digits) else {
            return .failure(invalid)
        }

        var number = national
        if rule.dropsTrunkZero && number.hasPrefix("0") { number = number.dropFirst() }
        let total = String(code).count + number.count
        let lengthOK =
            code == 1 ? number.count == 10 : number.count >= rule.minNationalDigits
        guard lengthOK, total <= CallingCodes.maxDigits else { return .failure(invalid) }
        return .success(String(code) + number)
    }

    static let noDigits = DropReason(.invalidPhone, "ph has no digits")

    static let noDefaultCallingCode = DropReason(
        .invalidPhone,
        "the default country for phone numbers has no calling code; "
            + "configure an ISO 3166-1 alpha-2 code")

    static let impossiblePhone = DropReason(
        .invalidPhone,
        "ph is not a possible phone number; expected a country code and national number")
}
