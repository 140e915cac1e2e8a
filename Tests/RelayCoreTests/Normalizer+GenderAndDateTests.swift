import Foundation
import Testing

@testable import RelayCore

@Suite struct NormalizerGenderTests {
    @Test func metasHashesForFAndM() {
        #expect(
            hashed(.gender, "f")
                == "252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111")
        #expect(
            hashed(.gender, "m")
                == "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a")
    }

    @Test func commonSpellings() {
        for raw in ["F", "female", "Woman", "w", "Femme", "mujer", "weiblich", "Feminino"] {
            #expect(normalized(.gender, raw) == "f", "\(raw)")
        }
        for raw in ["M", "male", "Man", "homme", "Hombre", "männlich", "Masculino"] {
            #expect(normalized(.gender, raw) == "m", "\(raw)")
        }
    }

    @Test func unknownSpellingsAreDropped() {
        #expect(dropCode(.gender, "x") == .unknownGender)
        #expect(dropCode(.gender, "prefer not to say") == .unknownGender)
    }
}

@Suite struct NormalizerDateOfBirthTests {
    /// 2026-06-01, so "the future" does not depend on when the tests run.
    let normalizer = Normalizer(today: Date(timeIntervalSince1970: 1_780_272_000))

    @Test func metasDocumentedExample() {
        #expect(normalized(.dateOfBirth, "2/16/1997", normalizer) == "19970216")
        #expect(
            hashed(.dateOfBirth, "2/16/1997", normalizer)
                == "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c")
    }

    @Test func commonFormats() {
        let inputs = [
            "1997-02-16", "02/16/1997", "16.02.1997", "19970216", "16 Feb 1997",
            "February 16, 1997", "Feb 16 1997", "16th February 1997", "1997/2/16", "16-Feb-1997",
        ]
        for raw in inputs {
            #expect(normalized(.dateOfBirth, raw, normalizer) == "19970216", "\(raw)")
        }
    }

    @Test func ambiguousSlashedDatesFollowTheConfiguredOrder() {
        #expect(normalized(.dateOfBirth, "03/04/1997", normalizer) == "19970304")
        let dayFirst = Normalizer(slashedDateOrder: .dayFirst, today: normalizer.today)
        #expect(normalized(.dateOfBirth, "03/04/1997", dayFirst) == "19970403")
        // Only one reading is a date, whatever the setting.
        #expect(normalized(.dateOfBirth, "16/02/1997", normalizer) == "19970216")
        #expect(normalized(.dateOfBirth, "02/16/1997", dayFirst) == "19970216")
    }

    @Test func impossibleDatesAreDropped() {
        let inputs = [
            "1997-02-30", "1997-13-01", "13/13/1997", "1899-12-31", "2030-01-01", "2/16/97",
            "19970230", "sometime in 1997", "2001-02-29",
        ]
        for raw in inputs {
            #expect(dropCode(.dateOfBirth, raw, normalizer) == .invalidDate, "\(raw)")
        }
        #expect(normalized(.dateOfBirth, "2000-02-29", normalizer) == "20000229")
    }
}
