import Testing

@testable import RelayCore

@Suite struct FoldedKeyTableTests {
    /// Thousands of keys sharing prefixes and lengths, so probes collide and run on: every key
    /// finds its value, and a prefix or an extension of a key finds only what the map holds.
    @Test func findsEveryKeyAndNothingElse() {
        let map = Dictionary(uniqueKeysWithValues: (0..<2_000).map { (key($0), "v\($0)") })
        let table = FoldedKeyTable(map)
        for (key, value) in map {
            #expect(table[key] == value)
            #expect(table[key + "q"] == map[key + "q"])
            #expect(table[String(key.dropLast())] == map[String(key.dropLast())])
        }
        #expect(table[""] == nil)
        #expect(table["zzzzzzzz"] == nil)
    }

    /// `index` in base 26 with the letters a–z as digits, after a `k`.
    private func key(_ index: Int) -> String {
        var digits: [UInt8] = []
        var rest = index
        repeat {
            digits.append(UInt8(ascii: "a") + UInt8(rest % 26))
            rest /= 26
        } while rest > 0
        return "k" + String(decoding: digits, as: UTF8.self)
    }

    @Test func anEmptyKeyCanBeAnEntry() {
        let table = FoldedKeyTable(["": "empty", "a": "one"])
        #expect(table[""] == "empty")
        #expect(table["a"] == "one")
        #expect(table["b"] == nil)
    }

    @Test func countryAndGenderLookupsGoThroughTheTable() {
        #expect(CountryTable.alpha2(for: "Côte d'Ivoire") == "ci")
        #expect(CountryTable.alpha2(for: "UNITED KINGDOM") == "gb")
        #expect(CountryTable.alpha2(for: "Atlantis") == nil)
        #expect(Normalizer.genderBySpelling["weiblich"] == "f")
        #expect(Normalizer.genderBySpelling["homme"] == "m")
        #expect(Normalizer.genderBySpelling["other"] == nil)
    }
}
