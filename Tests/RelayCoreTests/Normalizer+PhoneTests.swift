import Testing

@testable import RelayCore

@Suite struct NormalizerPhoneTests {
    @Test func metasDocumentedExampleGetsTheUSCountryCode() {
        #expect(normalized(.phone, "(650)555-1212") == "16505551212")
        #expect(
            hashed(.phone, "(650)555-1212")
                == "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176")
    }

    @Test func internationalForms() {
        #expect(normalized(.phone, "+1 (650) 555-1212") == "16505551212")
        #expect(normalized(.phone, "+442071838750") == "442071838750")
        #expect(normalized(.phone, "0044 844 412 4653") == "448444124653")
    }

    @Test func trunkZeroAfterTheCountryCodeIsRemoved() {
        #expect(normalized(.phone, "+44 (0)20 7946 0000") == "442079460000")
        // Python keeps it: 4408444124653.
        #expect(normalized(.phone, "+44 0844 412 4653") == "448444124653")
        #expect(normalized(.phone, "+49 (0)30 1234567") == "49301234567")
    }

    @Test func italyKeepsItsLeadingZero() {
        #expect(normalized(.phone, "+39 06 1234 5678") == "390612345678")
    }

    @Test func nationalNumbersUseTheConfiguredCountry() {
        let uk = Normalizer(defaultCountry: "gb")
        #expect(normalized(.phone, "020 7946 0000", uk) == "442079460000")
        let france = Normalizer(defaultCountry: "FR")
        #expect(normalized(.phone, "01 23 45 67 89", france) == "33123456789")
    }

    @Test func phpSDKVectors() {
        // PHP sends these without a country code; Meta requires one, so the US default's 1 is
        // added to the two national numbers.
        #expect(normalized(.phone, "123-456-7890") == "11234567890")
        #expect(normalized(.phone, "777 747 (3515)") == "17777473515")
        #expect(normalized(.phone, "+442071838750") == "442071838750")
        // Letters are stripped as Meta documents (and PHP does); Python raises instead.
        #expect(normalized(.phone, "44-12390821300A") == "4412390821300")
    }

    @Test func dotsAreSymbolsToo() {
        // Python raises on dots; Meta says remove symbols.
        #expect(normalized(.phone, "650.555.1212") == "16505551212")
    }

    @Test func impossibleNumbersAreDropped() {
        #expect(dropCode(.phone, "call me") == .invalidPhone)
        #expect(dropCode(.phone, "555-1212") == .invalidPhone)
        #expect(dropCode(.phone, "+1 650 555 12") == .invalidPhone)
        #expect(dropCode(.phone, "+44 12") == .invalidPhone)
        #expect(dropCode(.phone, "+999 1234 5678") == .invalidPhone)
        #expect(dropCode(.phone, "+49 1234 5678 9012 3456") == .invalidPhone)
    }

    @Test func anUnknownDefaultCountryDropsNationalNumbersOnly() {
        let nowhere = Normalizer(defaultCountry: "zz")
        #expect(dropCode(.phone, "(650)555-1212", nowhere) == .invalidPhone)
        #expect(normalized(.phone, "+1 650 555 1212", nowhere) == "16505551212")
    }
}
