import Foundation
import Testing

@testable import RelayCore

/// The byte-level path must decide every value exactly as the String-based rules do, and must
/// actually take the values it exists for.
@Suite struct NormalizerFastPathTests {
    /// Pieces that values are built from: ASCII of every class the rules care about, Latin-1 and
    /// Latin Extended letters, Unicode whitespace, and scalars the byte path hands over (a
    /// combining accent, `İ`, Greek, Hangul, a curly apostrophe, an en dash).
    static let pieces: [String] = [
        "a", "Z", "m", "q", "0", "1", "7", "9", " ", "  ", "\t", "\n", ".", ",", "-", "+", "@",
        "/", "'", "\"", "(", ")", "#", "_", "é", "É", "ö", "Ü", "ß", "æ", "ÿ", "Ł", "ő", "ǅ",
        "\u{A0}", "\u{85}", "\u{2003}", "\u{301}", "İ", "α", "정", "’", "–", "²", "½", "ª",
        "th", "st", "feb", "February", "sept", "00", "44", "1", "(0)", "650", "555", "1212",
        "2079460000", "1997", "02", "16", "31", "13", "1899", "2099", "usa", "United States",
        "Germany", "Québec", "New York", "CA", "female", "M", "Femme", "mail.example.org",
        "Example.COM", "x.y", "@@", "..", "-a-", "\u{2028}",
    ]

    /// A random value of up to `length` pieces, from a seeded generator so a failure repeats.
    static func value(_ generator: inout SeededGenerator, length: Int) -> String {
        let count = Int.random(in: 0...length, using: &generator)
        return (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    @Test(arguments: CustomerField.allCases)
    func bothPathsAgreeOnGeneratedValues(field: CustomerField) {
        var generator = SeededGenerator(
            seed: 0xC0FFEE &+ UInt64(CustomerField.allCases.firstIndex(of: field)!))
        let normalizer = Normalizer(today: Date(timeIntervalSince1970: 1_780_000_000))
        var disagreements: [String] = []
        for _ in 0..<4_000 {
            let raw = Self.value(&generator, length: 6)
            let fast = normalizer.normalize(field, raw)
            let reference = normalizer.normalizeWithStrings(field, raw)
            if fast != reference {
                disagreements.append("\(raw.debugDescription): \(fast) vs \(reference)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test func bothPathsAgreeOnShapedValues() {
        let normalizer = Normalizer(today: Date(timeIntervalSince1970: 1_780_000_000))
        let shaped: [(CustomerField, String)] = [
            (.email, "  Jos.García7@Example.com "), (.email, "zoë@mail.example.org"),
            (.email, "\"quoted name\"@example.com"), (.email, "a..b@example.com"),
            (.email, "a@b"), (.email, "name@123"), (.email, "ÉLOÏSE@EXAMPLE.NET"),
            (.phone, "+1 (650) 555-1212"), (.phone, "(650)555-1212"),
            (.phone, "+44 (0)20 7946 0000"), (.phone, "0044 20 7946 0000"), (.phone, "555"),
            (.phone, "16505551212"), (.phone, "+49 030 1234567"), (.phone, "tel: none"),
            (.dateOfBirth, "1997-02-16"), (.dateOfBirth, "02/16/1997"),
            (.dateOfBirth, "16.02.1997"), (.dateOfBirth, "February 16th, 1997"),
            (.dateOfBirth, "16 Feb 1997"), (.dateOfBirth, "1997/2/30"),
            (.dateOfBirth, "12345678901234567890123/02/1997"), (.dateOfBirth, "2/16/97"),
            (.state, "Île-de-France"), (.state, "Québec"), (.state, "N.Y."),
            (.country, "Côte d'Ivoire"), (.country, "ÅLAND ISLANDS"), (.country, "Narnia"),
            (.zip, "94025-1234"), (.zip, "M1 1AE"), (.zip, "98-121-4892"),
            (.gender, "Weiblich"), (.gender, "Männlich"), (.city, "São Paulo 2"),
            (.externalID, "  CRM-0042 "),
            (.email, String(repeating: "A", count: 64) + "@example.com"),
            (.firstName, "6915771BE1C5AA0C886870B6951B03D7EAFC121FEA0E80A5EA83BEB7C449F4EC"),
        ]
        for (field, raw) in shaped {
            #expect(
                normalizer.normalize(field, raw) == normalizer.normalizeWithStrings(field, raw),
                "\(field) \(raw.debugDescription)")
        }
    }

    @Test func typicalLatinValuesTakeTheBytePath() {
        let normalizer = Normalizer()
        let typical: [(CustomerField, String)] = [
            (.email, " Renée.Dupont@Example.com"), (.phone, "+33 1 23 45 67 89"),
            (.firstName, "Zoë"), (.lastName, "Müller"), (.city, "Köln"),
            (.state, "Île-de-France"), (.zip, "75018"), (.country, "United Kingdom"),
            (.gender, "Female"), (.dateOfBirth, "Feb 16, 1997"), (.externalID, "crm-7"),
        ]
        for (field, raw) in typical {
            let result = withUnsafeTemporaryAllocation(
                of: UInt8.self, capacity: Normalizer.fastPathCapacity
            ) { out in
                Array(raw.utf8).withUnsafeBufferPointer {
                    normalizer.fastNormalize(field, $0, into: out)
                }
            }
            #expect(result != .unsupported, "\(field) \(raw)")
        }
    }

    @Test func textOutsideTheTableTakesTheStringPath() {
        let normalizer = Normalizer()
        for (field, raw) in [
            (CustomerField.firstName, "Vale\u{301}ry"), (.lastName, "İnce"), (.city, "Αθήνα"),
            (.email, "정@example.com"),
        ] {
            let result = withUnsafeTemporaryAllocation(
                of: UInt8.self, capacity: Normalizer.fastPathCapacity
            ) { out in
                Array(raw.utf8).withUnsafeBufferPointer {
                    normalizer.fastNormalize(field, $0, into: out)
                }
            }
            #expect(result == .unsupported, "\(field) \(raw)")
        }
    }

    @Test func shortValuesHashTheSameFromTheCache() {
        for value in ["f", "m", "us", "gb", "ca", "zz", "a"] {
            let cached = Array(value.utf8).withUnsafeBufferPointer(ShortValueHashes.hash(of:))
            #expect(cached == Crypto.sha256Hex(value))
        }
        #expect(Array("u1".utf8).withUnsafeBufferPointer(ShortValueHashes.hash(of:)) == nil)
        #expect(Array("usa".utf8).withUnsafeBufferPointer(ShortValueHashes.hash(of:)) == nil)
    }

    @Test func civilDateMatchesTheCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for seconds in stride(from: -2_208_988_800.0, to: 4_102_444_800, by: 86_400 * 97.3) {
            let parts = calendar.dateComponents(
                [.year, .month, .day], from: Date(timeIntervalSince1970: seconds))
            let civil = Normalizer.civilDate(secondsSince1970: seconds)
            #expect(civil.0 == parts.year && civil.1 == parts.month && civil.2 == parts.day)
        }
    }
}

/// A small deterministic generator (SplitMix64), so generated cases are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
