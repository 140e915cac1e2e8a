/// `em`: trimmed and lowercased, kept only when it has the shape of an address.
extension Normalizer {
    /// Meta's rule is trim and lowercase. The shape check drops what cannot be an address
    /// (`a@b`, `@b.c`, text with spaces) instead of hashing it; it accepts quoted local parts
    /// and every character RFC 5322 allows unquoted, because rejecting a real address loses a
    /// match. Characters are never stripped from inside an address (the PHP SDK turns
    /// `foo(.bar)@baz.com/` into `foo.bar@baz.com`): editing an address can make it someone
    /// else's, so a malformed one is dropped instead.
    static func normalizeEmail(_ trimmed: String) -> Result<String, DropReason> {
        let email = trimmed.lowercased()
        let invalid = DropReason(
            .invalidEmail, "em is not an email address; expected name@domain.tld")
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
}
