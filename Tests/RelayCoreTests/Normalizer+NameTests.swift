import Foundation
import Testing

@testable import RelayCore

@Suite struct NormalizerNameTests {
    @Test func metasDocumentedExamples() {
        #expect(
            hashed(.firstName, "Mary")
                == "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec")
        #expect(
            hashed(.firstName, "정")
                == "8fa8cd9c440be61d0151429310034083132b35975c4bea67fdd74158eb51db14")
        #expect(
            hashed(.lastName, "Valéry")
                == "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c")
    }

    @Test func decomposedInputHashesAsMetasNFCExample() {
        let decomposed = "Vale\u{301}ry"
        #expect(decomposed.unicodeScalars.count == 7)
        #expect(
            hashed(.firstName, decomposed)
                == "08e1996b5dd49e62a4b4c010d44e4345592a863bb9f8e3976219bac29417149c")
    }

    @Test func punctuationIsRemoved() {
        // Python keeps o'brien and smith-jones; Meta says no punctuation.
        #expect(normalized(.lastName, "O'Brien") == "obrien")
        #expect(normalized(.lastName, "O’Brien") == "obrien")
        #expect(normalized(.lastName, "Smith-Jones") == "smithjones")
        #expect(normalized(.firstName, "J.R.") == "jr")
    }

    @Test func innerSpacesAreRemovedAsThePixelDoes() {
        #expect(normalized(.firstName, "Mary Ann") == "maryann")
        #expect(normalized(.lastName, "van  der Berg") == "vanderberg")
    }

    @Test func nonLatinLettersStay() {
        #expect(normalized(.lastName, "Müller") == "müller")
        #expect(normalized(.firstName, "Дмитрий") == "дмитрий")
    }

    @Test func cityIsLowercaseWithoutSpacesPunctuationOrDigits() {
        #expect(normalized(.city, "Menlo Park") == "menlopark")
        #expect(normalized(.city, "Seattle-98121") == "seattle")
        #expect(normalized(.city, "Washington D.C") == "washingtondc")
        #expect(normalized(.city, "St. Louis") == "stlouis")
        #expect(normalized(.city, "New York") == "newyork")
        #expect(normalized(.city, "Paris") == "paris")
        #expect(normalized(.city, "São Paulo") == "sãopaulo")
    }
}
