/// `em`: trimmed and lowercased, kept only when it has the shape of an address.
extension Normalizer {
    /// Meta's rule is trim and lowercase. The shape check drops what cannot be an address
    /// (`a@b`, `@b.c`, text with spaces) instead of hashing it; it accepts quoted local parts
    /// and every character RFC 5322 allows unquoted, because rejecting a real address loses a
    /// match. Characters are never stripped from inside an address (the PHP SDK turns
    /// `foo(.bar)@baz.com/` into `foo.bar@baz.com`): editing an address can make it someone
    /// else's, so a malformed one is dropped instead.
    static func normalizeEmail(_ trimmed: String) -> Result<String, DropReason> {
        let invalid = DropReason(
            .invalidEmail, "em is not an email address; expected name@domain.tld")
        // Most addresses are ASCII: checked byte by byte, without grapheme breaking.
        if let ascii = asciiLowercased(trimmed) {
            return isValidASCIIEmail(Array(ascii.utf8)) ? .success(ascii) : .failure(invalid)
        }
        let email = trimmed.lowercased()
        guard let at = email.lastIndex(of: "@") else { return .failure(invalid) }
        let local = email[..<at]
        let domain = email[email.index(after: at)...]
        guard isValidLocalPart(local), isValidDomain(domain) else { return .failure(invalid) }
        return .success(email)
    }

    private static let atomSymbols = Set("!#$%&'*+/=?^_`{|}~-")

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

    /// The same rules as the general path, on lowercase ASCII bytes.
    private static func isValidASCIIEmail(_ bytes: [UInt8]) -> Bool {
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
        }

        // The local part: quoted, or dot-separated atoms.
        guard !local.isEmpty, local.count <= 64 else { return false }
        let quote = UInt8(ascii: "\"")
        if local.count >= 2, local.first == quote, local.last == quote {
            if local.dropFirst().dropLast().contains(quote) { return false }
        } else {
            let dot = UInt8(ascii: ".")
            guard local.first != dot, local.last != dot else { return false }
            var previous: UInt8 = 0
            for byte in local {
                if byte == dot && previous == dot { return false }
                guard byte == dot || isAlphanumeric(byte) || asciiAtomSymbols.contains(byte)
                else { return false }
                previous = byte
            }
        }

        // The domain: labels of letters, digits and inner hyphens; a TLD not all digits.
        guard domain.count <= 253 else { return false }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        let hyphen = UInt8(ascii: "-")
        for label in labels {
            guard !label.isEmpty, label.first != hyphen, label.last != hyphen,
                label.allSatisfy({ $0 == hyphen || isAlphanumeric($0) })
            else { return false }
        }
        return !(labels.last?.allSatisfy { (0x30...0x39).contains($0) } ?? true)
    }

    private static let asciiAtomSymbols = Set("!#$%&'*+/=?^_`{|}~-".utf8)
}
