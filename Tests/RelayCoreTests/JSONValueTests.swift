import RelayCore
import Testing

@Suite("JSON value parsing")
struct JSONValueTests {
    @Test func booleansAreNotNumbersAndIntegersAreNotFloats() throws {
        let value = try JSONValue(
            parsing: #"{"t":true,"f":false,"one":1,"zero":0,"half":0.5,"whole":1.0,"exp":1e3}"#)
        #expect(value["t"] == .bool(true))
        #expect(value["f"] == .bool(false))
        #expect(value["one"] == .integer(1))
        #expect(value["zero"] == .integer(0))
        #expect(value["half"] == .float(0.5))
        #expect(value["whole"] == .float(1.0))
        #expect(value["exp"] == .float(1000))
    }

    @Test func integersKeepAll64Bits() throws {
        let value = try JSONValue(
            parsing: "[9223372036854775807, -9223372036854775808, 1760000000]")
        #expect(value == [.integer(.max), .integer(.min), .integer(1_760_000_000)])
    }

    @Test func integersBeyond64BitsBecomeFloats() throws {
        let value = try JSONValue(parsing: "[18446744073709551615, 123456789012345678901234]")
        #expect(value[0]?.integerValue == nil)
        #expect(value[1]?.integerValue == nil)
        #expect(value[1]?.numberValue != nil)
    }

    @Test func nullStringsAndNestingSurvive() throws {
        let value = try JSONValue(parsing: #"{"a":[null,"é",{"b":[]}]}"#)
        #expect(value == ["a": [nil, "é", ["b": []]]])
    }

    @Test func malformedJSONIsAnErrorNotATrap() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: "{\"a\":") }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue(parsing: "[1e400]") }
    }

    @Test func serialisationRoundTripsWithSortedKeys() throws {
        let value: JSONValue = ["b": 1, "a": [true, 1.5, "x/y"], "c": nil]
        #expect(value.serializedString == #"{"a":[true,1.5,"x/y"],"b":1,"c":null}"#)
        #expect(try JSONValue(parsing: value.serialized()) == value)
    }

    @Test func removingMembersStripsAtAnyDepth() {
        let value: JSONValue = ["access_token": "t", "data": [["appsecret_proof": "p", "k": 1]]]
        #expect(
            value.removingMembers(named: ["access_token", "appsecret_proof"]) == [
                "data": [["k": 1]]
            ])
    }
}
