import Foundation

/// Names, cities, states, zips, countries and gender: the fields that are text.
extension Normalizer {
    /// `fn`/`ln`: Unicode NFC, lowercase, and every space and punctuation mark removed.
    ///
    /// Meta's docs say "lowercase only with no punctuation" without saying what happens to a
    /// space inside a name. The Pixel's own PII schema settles it: `fn` and `ln` are declared
    /// `lowercase: true, strip: "whitespace_and_punctuation"`, which deletes all whitespace
    /// (facebookarchive/marketing-data-file-uploader, lib/SignalsSchema/SignalsBasicPIISchema.js;
    /// Meta's capi-param-builder normalizes names with the same parameters). So `Mary Ann` is
    /// `maryann`, as the browser Pixel would hash it. We drop Unicode punctuation and symbols,
    /// not only ASCII punctuation, since Meta's rule is "no punctuation" (`O’Brien` with a curly
    /// apostrophe and `O'Brien` hash alike). Letters, combining marks and digits stay, so
    /// `정` and `valéry` are kept as UTF-8. NFC is what Meta's `Valéry` example hash is of.
    static func normalizeName(_ raw: String) -> String {
        keep(lowercasedNFC(raw)) { isLetterOrMark($0) || $0.properties.numericType != nil }
    }

    /// `ct`: lowercase, with no spaces, punctuation, symbols or digits.
    ///
    /// Digits go too (`Seattle-98121` → `seattle`): a city name has none, and a zip typed into
    /// the city box would otherwise change the hash.
    static func normalizeCity(_ raw: String) -> String {
        keep(lowercasedNFC(raw), where: isLetterOrMark)
    }

    /// `st`: a US or Canadian name or code becomes the lowercase two-letter code; anything else
    /// is lowercased without spaces, punctuation or symbols.
    ///
    /// The mapping applies without knowing the country: a US or Canadian state name is
    /// distinctive, and two-letter codes pass through unchanged either way.
    static func normalizeState(_ raw: String) -> String {
        let folded = CountryTable.foldedKey(raw)
        if let code = RegionTable.code(folded: folded) { return code }
        return keep(lowercasedNFC(raw)) {
            isLetterOrMark($0) || $0.properties.numericType != nil
        }
    }

    /// `zp`: lowercase, no spaces or dashes; a US ZIP+4 keeps its first five digits.
    ///
    /// Without the country at hand, a US zip is recognised by shape: five digits, a dash and
    /// four digits, or nine digits in a row. No other country writes postcodes that way.
    /// Meta's rule removes the dash rather than cutting at it, so `98-121-4892` (a ZIP+4 typed
    /// with an extra dash) is `98121`; the SDKs cut at the first dash and send `98`.
    static func normalizeZip(_ raw: String) -> String {
        let cleaned = keep(lowercasedNFC(raw)) {
            !$0.properties.isWhitespace && $0 != "-" && $0 != "‐" && $0 != "–"
        }
        let isNineDigits = cleaned.count == 9 && cleaned.allSatisfy(\.isASCIIDigit)
        return isNineDigits ? String(cleaned.prefix(5)) : cleaned
    }

    /// `country`: an ISO 3166-1 alpha-2 code, from a code, alpha-3 code, name or alias.
    static func normalizeCountry(_ raw: String) -> Result<String, DropReason> {
        normalizeCountry(folded: CountryTable.foldedKey(raw))
    }

    /// `country` from an already folded key (``CountryTable/foldedKey(_:)``).
    static func normalizeCountry(folded: String) -> Result<String, DropReason> {
        if let alpha2 = CountryTable.alpha2(folded: folded) { return .success(alpha2) }
        return .failure(unknownCountry)
    }

    static let unknownCountry = DropReason(
        .unknownCountry,
        "country is not an ISO 3166-1 code or a known country name; send a code such as us or gb")

    /// `ge`: `f` or `m`, from common spellings in English and a few other languages.
    ///
    /// Anything else is dropped rather than guessed: a wrong gender hash lowers match quality
    /// more than a missing one.
    static func normalizeGender(_ raw: String) -> Result<String, DropReason> {
        normalizeGender(folded: CountryTable.foldedKey(raw))
    }

    /// `ge` from an already folded key.
    static func normalizeGender(folded key: String) -> Result<String, DropReason> {
        if let letter = genderBySpelling[key] { return .success(letter) }
        return .failure(unknownGender)
    }

    static let unknownGender = DropReason(
        .unknownGender, "ge is not a recognised spelling of female or male")

    /// Both lists in one table, so a value costs one lookup.
    static let genderBySpelling = FoldedKeyTable(
        Dictionary(
            uniqueKeysWithValues: femaleSpellings.map { ($0, "f") }
                + maleSpellings.map { ($0, "m") }))

    /// Folded (lowercase, no diacritics, letters only) spellings of female.
    static let femaleSpellings: Set<String> = [
        "f", "female", "woman", "women", "w", "girl", "fem", "feminine", "femme", "feminin",
        "femenino", "femenina", "mujer", "feminino", "feminina", "mulher", "weiblich", "frau",
        "donna", "femmina", "femminile", "vrouw", "vrouwelijk", "kobieta", "zenski", "kvinna",
        "kvinne", "kvinde",
    ]

    /// Folded spellings of male.
    static let maleSpellings: Set<String> = [
        "m", "male", "man", "men", "boy", "masculine", "homme", "masculin", "masculino",
        "masculina", "hombre", "homem", "mannlich", "mann", "maschio", "maschile", "uomo",
        "mannelijk", "mezczyzna", "muski", "hane", "mand",
    ]

    // MARK: - Helpers

    /// Lowercased, then NFC; NFC comes last because lowercasing can decompose (`İ`).
    ///
    /// ASCII text, most of what arrives, is already NFC and lowercases byte by byte; it skips
    /// Foundation's Unicode normalization, which costs microseconds per call.
    static func lowercasedNFC(_ raw: String) -> String {
        if let ascii = asciiLowercased(raw) { return ascii }
        return raw.precomposedStringWithCanonicalMapping.lowercased()
            .precomposedStringWithCanonicalMapping
    }

    /// The string lowercased when it is all ASCII; nil otherwise.
    static func asciiLowercased(_ raw: String) -> String? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(raw.utf8.count)
        for byte in raw.utf8 {
            guard byte < 0x80 else { return nil }
            bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func isLetterOrMark(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (0x61...0x7A).contains(value) || (0x41...0x5A).contains(value)
        }
        if scalar.properties.isAlphabetic { return true }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The string with only the scalars `include` accepts.
    static func keep(_ text: String, where include: (Unicode.Scalar) -> Bool) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter(include))
        return String(scalars)
    }
}

extension Character {
    /// True for the ASCII digits 0–9 only (`isNumber` also accepts `½` and `٣`).
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
