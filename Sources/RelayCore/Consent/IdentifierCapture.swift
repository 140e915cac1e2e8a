import Foundation

/// Finds an email address or a phone number typed into a chat and keeps only its hash.
///
/// People often answer "what's your email?" in the thread itself; those identifiers are the
/// best match keys the relay can send. The raw text is never stored: only what `Normalizer`
/// accepts, hashed.
public struct IdentifierCapture: Sendable {
    private let normalizer: Normalizer
    private let patterns: Patterns

    public init(normalizer: Normalizer) {
        self.normalizer = normalizer
        patterns = Patterns()
    }

    /// Hashed identifiers by CAPI key, for the values in `text` that normalize.
    public func capture(from text: String) -> [String: [String]] {
        var found: [String: [String]] = [:]
        for (field, expression) in [
            (CustomerField.email, patterns.email), (.phone, patterns.phone),
        ] {
            let range = NSRange(text.startIndex..., in: text)
            for match in expression.matches(in: text, range: range) {
                guard let matched = Range(match.range, in: text),
                    case .success(let hash) = normalizer.hash(field, String(text[matched]))
                else { continue }
                if !(found[field.rawValue] ?? []).contains(hash) {
                    found[field.rawValue, default: []].append(hash)
                }
            }
        }
        return found
    }

    /// NSRegularExpression is documented as safe to share between threads once built.
    private final class Patterns: @unchecked Sendable {
        let email = try! NSRegularExpression(
            pattern: #"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"#)
        let phone = try! NSRegularExpression(pattern: #"\+?[0-9][0-9 ().\-]{6,}[0-9]"#)
    }
}
