import Foundation

/// Every ISO 3166-1 country code with its alpha-3 code, English short name and common aliases,
/// for turning what a form or CRM holds into the lowercase alpha-2 code Meta wants.
///
/// The table is complete (all 249 assigned codes) rather than a handful of big markets, because
/// a country Meta cannot read costs the match on every event from it. Lookup keys are folded:
/// lowercased, diacritics removed and everything but letters dropped, so `Côte d'Ivoire`,
/// `cote divoire` and `CÔTE-D'IVOIRE` are one key.
public enum CountryTable {
    /// The lowercase alpha-2 code for a country name, alias, alpha-2 or alpha-3 code, or nil.
    public static func alpha2(for raw: String) -> String? {
        lookup[foldedKey(raw)]
    }

    /// The code for a key already folded by ``foldedKey(_:)``.
    static func alpha2(folded key: String) -> String? {
        lookup[key]
    }

    /// The code for a folded key's bytes.
    static func alpha2(folded key: UnsafeBufferPointer<UInt8>) -> String? {
        lookup[key]
    }

    /// Names people and systems use that are not ISO's short name or common name.
    ///
    /// `uk` is not an assigned alpha-2 code but is what many people type for `gb`.
    static let aliases: [String: String] = [
        "usa": "us", "unitedstatesofamerica": "us", "america": "us", "theunitedstates": "us",
        "uk": "gb", "greatbritain": "gb", "britain": "gb", "england": "gb", "scotland": "gb",
        "wales": "gb", "northernireland": "gb",
        "unitedkingdomofgreatbritainandnorthernireland":
            "gb",
        "korea": "kr", "republicofkorea": "kr", "northkorea": "kp", "russia": "ru",
        "czechrepublic": "cz", "holland": "nl", "thenetherlands": "nl", "ivorycoast": "ci",
        "turkey": "tr", "macedonia": "mk", "swaziland": "sz", "burma": "mm", "capeverde": "cv",
        "easttimor": "tl", "vatican": "va", "vaticancity": "va", "holysee": "va",
        "palestine": "ps", "micronesia": "fm", "drc": "cd", "drcongo": "cd",
        "congokinshasa": "cd", "democraticrepublicofthecongo": "cd", "congobrazzaville": "cg",
        "republicofthecongo": "cg", "uae": "ae", "emirates": "ae", "laos": "la",
        "vietnam": "vn", "iran": "ir", "syria": "sy", "moldova": "md", "tanzania": "tz",
        "bolivia": "bo", "venezuela": "ve", "brunei": "bn", "falklandislands": "fk",
        "saintkittsandnevis": "kn", "saintlucia": "lc", "saintvincentandthegrenadines": "vc",
        "stkittsandnevis": "kn", "stlucia": "lc", "stvincentandthegrenadines": "vc",
        "usvirginislands": "vi", "britishvirginislands": "vg", "southafrica": "za",
        "hongkong": "hk", "macau": "mo", "macao": "mo", "mainlandchina": "cn", "prc": "cn",
        "deutschland": "de", "espana": "es", "italia": "it", "brasil": "br", "mexique": "mx",
        "schweiz": "ch", "suisse": "ch", "osterreich": "at", "nederland": "nl",
        "polska": "pl", "nippon": "jp", "kosovo": "xk",
    ]

    /// Folded key → alpha-2, built once from the generated entries and the aliases.
    private static let lookup = FoldedKeyTable(lookupEntries)

    private static let lookupEntries: [String: String] = {
        var map: [String: String] = [:]
        for (alpha2, alpha3, name, commonName) in entries {
            map[alpha2] = alpha2
            map[alpha3] = alpha2
            map[foldedKey(name)] = alpha2
            if let commonName { map[foldedKey(commonName)] = alpha2 }
        }
        for (alias, alpha2) in aliases where map[alias] == nil {
            map[alias] = alpha2
        }
        return map
    }()

    /// Lowercased, diacritics removed, letters a–z only.
    static func foldedKey(_ raw: String) -> String {
        // ASCII has no diacritics to fold: skip Foundation's folding, the slow part.
        if let ascii = Normalizer.asciiLowercased(raw) {
            return String(decoding: ascii.utf8.filter { $0 >= 0x61 && $0 <= 0x7A }, as: UTF8.self)
        }
        let folded = raw.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        return String(folded.unicodeScalars.filter { ("a"..."z").contains($0) }.map(Character.init))
    }
}
