import Testing

@testable import RelayServer

@Suite struct JSON5LocatorTests {
    func locate(_ text: String) -> Result<JSON5Locator, JSON5Locator.SyntaxError> {
        JSON5Locator.locate(Array(text.utf8))
    }

    @Test func keysAndArrayElementsAreFoundByPathWithTheirLineAndColumn() throws {
        let text = """
            // comment { not a key: 1 }
            {
              listen: '127.0.0.1:8080', /* inline */ "capi": {
                "batch_size": 0x10, "timeout_seconds": .5,
              },
              "rules": [ { "when": { "text": "a\\"b" } }, ],
            }
            """
        let locator = try locate(text).get()
        #expect(locator.positions["listen"] == .init(line: 3, column: 3))
        #expect(locator.positions["capi"] == .init(line: 3, column: 42))
        #expect(locator.positions["capi.timeout_seconds"] == .init(line: 4, column: 25))
        #expect(locator.positions["rules[0]"] == .init(line: 6, column: 14))
        #expect(locator.positions["rules[0].when.text"]?.line == 6)
        #expect(locator.positions.count == 9, "eight keys and elements, and the top level")
        #expect(locator.line(of: "capi.missing_key") == 3, "a missing key is its object's line")
        #expect(locator.line(of: "rules[0].when.text") == 6)
        #expect(locator.line(of: "pages") == 2, "a missing top-level key is the { line")
        #expect(locator.line(of: "") == nil)
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let locator = try locate("{ \"name\": \"Renée\", \"x\": 1 }").get()
        #expect(locator.positions["x"] == .init(line: 1, column: 20))
    }

    @Test func everyJSON5ValueFormIsAccepted() {
        for value in [
            "1", "-1.5e3", "+2", ".5", "5.", "0xFF", "Infinity", "-Infinity", "NaN", "true",
            "null", "'single'", "\"line \\\ncontinued\"", "[]", "{}", "[1, 2,]",
        ] {
            #expect(throws: Never.self, "\(value)") { try locate("{ \"k\": \(value) }").get() }
        }
    }

    @Test func syntaxErrorsSayWhatWasExpectedAndWhere() {
        let cases: [(String, JSON5Locator.SyntaxError)] = [
            (
                "{ \"a\" 1 }",
                .init(
                    position: .init(line: 1, column: 7),
                    message: "expected ':' after the key 'a', found '1'")
            ),
            (
                "{ \"a\": 1 \"b\": 2 }",
                .init(
                    position: .init(line: 1, column: 10),
                    message: "expected ',' or '}' after the value of 'a', found '\"'")
            ),
            (
                "[1 2]",
                .init(
                    position: .init(line: 1, column: 4),
                    message: "expected ',' or ']' after an element of the array, found '2'")
            ),
            (
                "{\n  \"a\": [1,\n",
                .init(
                    position: .init(line: 2, column: 8),
                    message: "the array opened here is never closed with ]")
            ),
            (
                "{ \"a\": } ",
                .init(
                    position: .init(line: 1, column: 8),
                    message: "expected a value (a string in quotes, a number, true, false, null,"
                        + " an object or an array), found '}'")
            ),
            (
                "{} {}",
                .init(
                    position: .init(line: 1, column: 4),
                    message: "unexpected '{' after the end of the config's top-level value")
            ),
            (
                "{ \"a\": 1.2.3 }",
                .init(
                    position: .init(line: 1, column: 8),
                    message:
                        "'1.2.3' is not a value: put text in quotes, or use a number, true, false or null"
                )
            ),
            (
                "{ ,}",
                .init(
                    position: .init(line: 1, column: 3),
                    message: "expected a key in quotes, or '}' to close the object; found ','")
            ),
        ]
        for (text, expected) in cases {
            switch locate(text) {
            case .success: Issue.record("\(text) must not scan")
            case .failure(let error): #expect(error == expected, "\(text)")
            }
        }
    }

    @Test func deepNestingIsRefusedRatherThanExhaustingTheStack() {
        let text = String(repeating: "[", count: 10_000)
        guard case .failure(let error) = locate(text) else {
            Issue.record("must fail")
            return
        }
        #expect(error.message == "nested more than 200 deep")
    }

    @Test func aRepeatedKeyIsRecordedWithBothLines() throws {
        let locator = try locate("{\n  \"a\": 1,\n  \"a\": 2\n}").get()
        #expect(
            locator.duplicates == [
                .init(path: "a", first: .init(line: 2, column: 3), again: .init(line: 3, column: 3))
            ])
    }
}
