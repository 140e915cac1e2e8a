import Testing

@testable import RelayHTTP

@Suite struct HTTPRequestTargetTests {
    @Test func keepsThePathAsSent() {
        let (path, query) = HTTPRequestTarget.split("/a%2Fb/c?x=1")
        #expect(path == "/a%2Fb/c")
        #expect(query == "x=1")
        #expect(HTTPRequestTarget.split("/plain").query == nil)
    }

    @Test func decodesPercentEscapesAndPlus() {
        let query = HTTPRequestTarget.parseQuery("name=J%C3%BCrgen+M%C3%BCller&empty=&bare")
        #expect(query == ["name": "Jürgen Müller", "empty": "", "bare": ""])
    }

    @Test func keepsTheFirstOccurrence() {
        #expect(HTTPRequestTarget.parseQuery("a=1&a=2&&b=3") == ["a": "1", "b": "3"])
    }

    @Test func keepsMalformedEscapesLiterally() {
        let query = HTTPRequestTarget.parseQuery("p=100%&q=%zz&r=%4")
        #expect(query == ["p": "100%", "q": "%zz", "r": "%4"])
    }

    @Test func decodesNamesToo() {
        #expect(HTTPRequestTarget.parseQuery("hub%2Emode=subscribe") == ["hub.mode": "subscribe"])
    }

    @Test func reducesAbsoluteFormToThePath() {
        #expect(HTTPRequestTarget.split("HTTPS://relay.example:8443/w?x=1").path == "/w")
        #expect(HTTPRequestTarget.split("http://relay.example").path == "/")
        #expect(HTTPRequestTarget.split("http://relay.example?x=1").path == "/")
    }
}
