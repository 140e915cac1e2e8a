/// `em`: trimmed and lowercased, kept only when it has the shape of an address.
extension Normalizer {
    /// Meta's rule is trim and lowercase. The shape check drops what cannot be an address
    /// (`a@b`, `@b.c`, text with spaces) instead of hashing it; it accepts quoted local parts
    /// and every character RFC 5322 allows unquoted, because rejecting a real address loses a
    /// match. Characters are never stripped from inside an address (the PHP SDK turns
    /// `foo(.bar)@baz.com/` into `foo.bar@baz.com`): editing an address can make it someone
    /// else's, so a malformed one is dropped instead.
    static func normalizeEmail(_ trimmed: String) -> Result<String, DropReason> {
        let invalid = invalidEmail
        // Most addresses are ASCII: checked byte by byte, without grapheme breaking.
        if let ascii = asciiLowercased(trimmed) {
            let valid = Array(ascii.utf8).withUnsafeBufferPointer {
                isValidEmail($0, LatinScalarTable.shared)
            }
            return valid ? .success(ascii) : .failure(invalid)
        }
        let email = trimmed.lowercased()
        guard let at = email.lastIndex(of: "@") else { return .failure(invalid) }
        let local = email[..<at]
        let domain = email[email.index(after: at)...]
        guard isValidLocalPart(local), isValidDomain(domain) else { return .failure(invalid) }
        return .success(email)
    }

    static let invalidEmail = DropReason(
        .invalidEmail, "em is not an email address; expected name@domain.tld")

    static let atomSymbols = Set("!#$%&'*+/=?^_`{|}~-")

    private static func isValidLocalPart(_ local: Substring) -> Bool {
        guard !local.isEmpty, local.utf8.count <= 64 else { return false }

        // A quoted local part may hold spaces and @; only a bare quote or backslash ends it.
        if local.count >= 2, local.first == "\"", local.last == "\"" {
            return !local.dropFirst().dropLast().contains("\"")
        }
        guard local.first != ".", local.last != ".", !local.contains("..") else { return false }
        return local.allSatisfy { char in
            char == "." || atomSymbols.contains(char) || char.isLetter || char.isNumber
        }
    }

    private static func isValidDomain(_ domain: Substring) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.utf8.count <= 253 else { return false }
        let labelsValid = labels.allSatisfy { label in
            !label.isEmpty && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0 == "-" || $0.isLetter || $0.isNumber }
        }
        guard labelsValid, let tld = labels.last else { return false }
        return !tld.allSatisfy(\.isNumber)
    }

    /// The same rules as the general path, on the UTF-8 of lowercase text made of scalars
    /// below U+0300 (see ``LatinScalarTable``), without allocating.
    static func isValidEmail(_ bytes: UnsafeBufferPointer<UInt8>, _ table: LatinScalarTable)
        -> Bool
    {
        var at = bytes.count - 1
        while at >= 0, bytes[at] != UInt8(ascii: "@") { at -= 1 }
        guard at >= 0 else { return false }
        let local = UnsafeBufferPointer(rebasing: bytes[..<at])
        let domain = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
        let dot = UInt8(ascii: ".")
        let hyphen = UInt8(ascii: "-")

        let alphanumeric: LatinScalarTable.Flags = [.letter, .number]

        // The local part: quoted, or dot-separated atoms.
        guard !local.isEmpty, local.count <= 64 else { return false }
        let quote = UInt8(ascii: "\"")
        if local.count >= 2, local.first == quote, local.last == quote {
            if local.dropFirst().dropLast().contains(quote) { return false }
        } else {
            guard local.first != dot, local.last != dot else { return false }
            var previous: UInt8 = 0
            var index = 0
            while index < local.count {
                guard let (byte, flags) = emailScalar(local, &index, table) else { return false }
                if byte == dot {
                    guard previous != dot else { return false }
                } else {
                    guard flags.hasAny(alphanumeric) || flags.hasAny(.atomSymbol) else {
                        return false
                    }
                }
                previous = byte
            }
        }

        // The domain: at least two labels of letters, digits and inner hyphens, and a TLD that
        // is not all digits.
        guard domain.count <= 253 else { return false }
        var labels = 0
        var labelStart = 0
        var lastLabelAllNumbers = true
        for end in 0...domain.count where end == domain.count || domain[end] == dot {
            let label = UnsafeBufferPointer(rebasing: domain[labelStart..<end])
            guard !label.isEmpty, label.first != hyphen, label.last != hyphen else {
                return false
            }
            var allNumbers = true
            var index = 0
            while index < label.count {
                guard let (byte, flags) = emailScalar(label, &index, table) else { return false }
                if !flags.hasAny(.number) { allNumbers = false }
                guard byte == hyphen || flags.hasAny(alphanumeric) else {
                    return false
                }
            }
            labels += 1
            lastLabelAllNumbers = allNumbers
            labelStart = end + 1
        }
        return labels >= 2 && !lastLabelAllNumbers
    }

    /// The scalar at `index` as the checks see it: an ASCII byte and its class, or 0x80 and
    /// the table's flags for a scalar below U+0300; nil for anything else.
    @inline(__always)
    private static func emailScalar(
        _ part: UnsafeBufferPointer<UInt8>, _ index: inout Int, _ table: LatinScalarTable
    ) -> (UInt8, LatinScalarTable.Flags)? {
        let lead = part[index]
        if lead < 0x80 {
            index += 1
            return (lead, table.flags[Int(lead)])
        }
        guard lead >= 0xC2, lead < 0xCC, index + 1 < part.count else { return nil }
        let scalar = (Int(lead & 0x1F) << 6) | Int(part[index + 1] & 0x3F)
        index += 2
        return (0x80, table.flags[scalar])
    }
}
