/// United States and Canadian state, district, territory and province names mapped to the
/// two-letter postal codes Meta wants for `st`.
///
/// Only these two countries get a mapping: Meta documents the code form for the US (ANSI/FIPS
/// two-letter codes) and Canadian codes are the same shape, while elsewhere it asks for the
/// region name lowercased without spaces or punctuation, which needs no table.
enum RegionTable {
    /// Every code in the table, so a code that is already right passes through.
    static let codes: Set<String> = Set(byName.values)

    /// The code for a folded name or code, in one lookup.
    static func code(folded key: String) -> String? {
        nameOrCode[key]
    }

    /// The code for a folded key's bytes.
    static func code(folded key: UnsafeBufferPointer<UInt8>) -> String? {
        nameOrCode[key]
    }

    /// Names and codes together; no code is also a folded name.
    private static let nameOrCode = FoldedKeyTable(
        byName.merging(codes.map { ($0, $0) }, uniquingKeysWith: { name, _ in name }))

    /// Names folded to lowercase letters only (`New York` → `newyork`) → code.
    static let byName: [String: String] = [
        "alabama": "al",
        "alaska": "ak",
        "arizona": "az",
        "arkansas": "ar",
        "california": "ca",
        "colorado": "co",
        "connecticut": "ct",
        "delaware": "de",
        "districtofcolumbia": "dc",
        "florida": "fl",
        "georgia": "ga",
        "hawaii": "hi",
        "idaho": "id",
        "illinois": "il",
        "indiana": "in",
        "iowa": "ia",
        "kansas": "ks",
        "kentucky": "ky",
        "louisiana": "la",
        "maine": "me",
        "maryland": "md",
        "massachusetts": "ma",
        "michigan": "mi",
        "minnesota": "mn",
        "mississippi": "ms",
        "missouri": "mo",
        "montana": "mt",
        "nebraska": "ne",
        "nevada": "nv",
        "newhampshire": "nh",
        "newjersey": "nj",
        "newmexico": "nm",
        "newyork": "ny",
        "northcarolina": "nc",
        "northdakota": "nd",
        "ohio": "oh",
        "oklahoma": "ok",
        "oregon": "or",
        "pennsylvania": "pa",
        "rhodeisland": "ri",
        "southcarolina": "sc",
        "southdakota": "sd",
        "tennessee": "tn",
        "texas": "tx",
        "utah": "ut",
        "vermont": "vt",
        "virginia": "va",
        "washington": "wa",
        "westvirginia": "wv",
        "wisconsin": "wi",
        "wyoming": "wy",
        "americansamoa": "as",
        "guam": "gu",
        "northernmarianaislands": "mp",
        "puertorico": "pr",
        "unitedstatesvirginislands": "vi",
        "usvirginislands": "vi",
        "virginislands": "vi",
        "washingtondc": "dc",
        "alberta": "ab",
        "britishcolumbia": "bc",
        "manitoba": "mb",
        "newbrunswick": "nb",
        "newfoundlandandlabrador": "nl",
        "newfoundland": "nl",
        "novascotia": "ns",
        "ontario": "on",
        "princeedwardisland": "pe",
        "quebec": "qc",
        "saskatchewan": "sk",
        "northwestterritories": "nt",
        "nunavut": "nu",
        "yukon": "yt",
        "yukonterritory": "yt",
    ]
}
