import Testing

@testable import RelayCore

@Suite struct NormalizerLocationTests {
    @Test func usAndCanadianStatesBecomeTheirCodes() {
        #expect(normalized(.state, "Arizona") == "az")
        #expect(normalized(.state, "CA") == "ca")
        #expect(normalized(.state, "N.Y.") == "ny")
        #expect(normalized(.state, "new york") == "ny")
        #expect(normalized(.state, "District of Columbia") == "dc")
        #expect(normalized(.state, "British Columbia") == "bc")
        #expect(normalized(.state, "Québec") == "qc")
    }

    @Test func otherRegionsAreLowercasedWithoutSpacesOrPunctuation() {
        #expect(normalized(.state, "Île-de-France") == "îledefrance")
        #expect(normalized(.state, "Nordrhein-Westfalen") == "nordrheinwestfalen")
    }

    @Test func zipExamplesFromMetaAndTheSDKs() {
        #expect(normalized(.zip, "94035") == "94035")
        #expect(normalized(.zip, "1987") == "1987")
        #expect(normalized(.zip, "75018") == "75018")
        #expect(normalized(.zip, "M1 1AE") == "m11ae")
        #expect(normalized(.zip, "  98121") == "98121")
        #expect(normalized(.zip, "98121-4892") == "98121")
        #expect(normalized(.zip, "NR9 5AL") == "nr95al")
        #expect(normalized(.zip, "981214892") == "98121")
    }

    @Test func zipDashesAreRemovedNotCutAt() {
        // The SDKs keep the text before the first dash (98); Meta says no dashes, first 5 digits.
        #expect(normalized(.zip, "98-121-4892") == "98121")
        #expect(normalized(.zip, "100-0001") == "1000001")
    }

    @Test func metasDocumentedCountryExample() {
        #expect(normalized(.country, "United States") == "us")
        #expect(
            hashed(.country, "United States")
                == "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621")
    }

    @Test func countryCodesNamesAndAliases() {
        #expect(normalized(.country, "   US   ") == "us")
        #expect(normalized(.country, "U.S.") == "us")
        // The PHP SDK rejects this; it is the ISO official name.
        #expect(normalized(.country, "United States of America") == "us")
        #expect(normalized(.country, "USA") == "us")
        #expect(normalized(.country, "UK") == "gb")
        #expect(normalized(.country, "Great Britain") == "gb")
        #expect(normalized(.country, "United Kingdom") == "gb")
        #expect(normalized(.country, "DEU") == "de")
        #expect(normalized(.country, "Côte d'Ivoire") == "ci")
        #expect(normalized(.country, "South Korea") == "kr")
        #expect(normalized(.country, "Åland Islands") == "ax")
    }

    @Test func theCountryTableIsComplete() {
        #expect(CountryTable.entries.count == 249)
        #expect(Set(CountryTable.entries.map(\.0)).count == 249)
        for (alpha2, alpha3, name, _) in CountryTable.entries {
            #expect(CountryTable.alpha2(for: alpha2.uppercased()) == alpha2)
            #expect(CountryTable.alpha2(for: alpha3) == alpha2)
            #expect(CountryTable.alpha2(for: name) == alpha2, "\(name)")
        }
    }

    @Test func unknownCountriesAreDropped() {
        #expect(dropCode(.country, "Atlantis") == .unknownCountry)
        #expect(dropCode(.country, "zz") == .unknownCountry)
    }
}
