import Testing
@testable import RelayCommandLine

@Suite struct SuggestionTests {
    @Test func distanceCountsEditsAndAdjacentSwaps() {
        #expect(Suggestion.distance("listen", "listen") == 0)
        #expect(Suggestion.distance("lisen", "listen") == 1)
        #expect(Suggestion.distance("lsiten", "listen") == 1)
        #expect(Suggestion.distance("serv", "serve") == 1)
        #expect(Suggestion.distance("", "abc") == 3)
        #expect(Suggestion.distance("kitten", "sitting") == 3)
    }

    @Test func closestPrefersTheSmallestDistanceThenDeclarationOrder() {
        #expect(Suggestion.closest(to: "sandbx", among: ["serve", "sandbox"]) == "sandbox")
        #expect(Suggestion.closest(to: "cat", among: ["bat", "hat"]) == "bat")
    }

    @Test func aPrefixQualifiesHoweverFarItIs() {
        #expect(Suggestion.closest(to: "max", among: ["events", "max-delivery-attempts"])
            == "max-delivery-attempts")
    }

    @Test func farOrTinyWordsGetNoGuess() {
        #expect(Suggestion.closest(to: "frobnicate", among: ["serve", "sandbox"]) == nil)
        // Two edits turn any two-letter word into any other.
        #expect(Suggestion.closest(to: "xy", among: ["ab"]) == nil)
        #expect(Suggestion.closest(to: "", among: ["ab"]) == nil)
    }
}
