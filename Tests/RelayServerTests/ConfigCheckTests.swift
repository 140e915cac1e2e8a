import Foundation
import RelayTestSupport
import Testing

/// `capi-relay config check` on broken configs, as a user runs it: every problem at once, one
/// line each as `file:line: key: message`, and exit 78.
@Suite struct ConfigCheckTests {
    /// Writes `text` to a file named `name` in a fresh directory and checks it.
    func check(_ text: String, named name: String = "capi-relay.json") throws
        -> (status: Int32, stdout: String, stderr: String, file: String)
    {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("config-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent(name).path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let process = try TestProcess(["config", "check", file])
        let status = try process.waitForExit()
        return (
            status, process.stdout, process.stderr.replacingOccurrences(of: file, with: name), file
        )
    }

    @Test func typosWrongTypesMissingKeysAndBadValuesAreAllReportedInFileOrder() throws {
        let result = try check(
            """
            // Several mistakes at once.
            {
              "listen": "nowhere",
              "pages": [
                { "page_id": "abc", "dataset": "880000000000001" }
              ],
              "capi": {
                "api_version": "25",
                "batch_size": "many",
                "flush_intervall_seconds": 1
              },
              "crm": { "timeout_seconds": 5 },
              "dedupe": { "window_hours": 24 },
              "rules": [
                { "name": "lead", "when": { "quick_reply": "LEAD" }, "event": "Lead" },
                { "name": "lead", "when": { "txt": "call me" }, "event": "Lead" }
              ]
            }
            """)
        #expect(result.status == 78)
        #expect(result.stdout == "")
        #expect(
            result.stderr == """
                capi-relay.json:3: listen: 'nowhere' is not host:port, e.g. 127.0.0.1:8080
                capi-relay.json:5: pages[0].page_id: 'abc' is not a numeric page id
                capi-relay.json:8: capi.api_version: '25' is not a Graph version like v25.0
                capi-relay.json:9: capi.batch_size: expected an integer
                capi-relay.json:10: capi.flush_intervall_seconds: unknown key; did you mean \
                'flush_interval_seconds'?
                capi-relay.json:12: crm.url: is required
                capi-relay.json:13: dedupe.window_hours: 24 hours is too short; use at least 48, \
                the window Meta itself applies to pixel and server copies of an event
                capi-relay.json:16: rules[1].when.txt: unknown key; did you mean 'text'?
                capi-relay.json:16: rules[1].name: rule name 'lead' is used twice
                capi-relay.json:16: rules[1].when: has no condition

                """)
    }

    @Test func aMissingCommaIsASyntaxErrorWithItsLineAndColumn() throws {
        let result = try check(
            """
            {
              "listen": "127.0.0.1:8080",
              "pages": [
                { "page_id": "1", "dataset": "2" }
              ]
              "rules": []
            }
            """)
        #expect(result.status == 78)
        #expect(
            result.stderr == """
                capi-relay.json:6:3: expected ',' or '}' after the value of 'pages', found '"'

                """)
    }

    @Test func anUnclosedStringAndAnUnclosedCommentPointAtWhereTheyStart() throws {
        let string = try check(
            "{\n  \"listen\": \"127.0.0.1:8080\",\n  \"rules\": [\n    { \"name\": \"x }\n")
        #expect(
            string.stderr == """
                capi-relay.json:4:19: a line break inside a string; close the string on its \
                line, or end the line with a backslash

                """)
        let comment = try check("{\n  /* pages go here\n  \"pages\": []\n}\n")
        #expect(comment.stderr == "capi-relay.json:2:3: a /* comment is never closed with */\n")
        #expect(comment.status == 78)
    }

    @Test func aKeyGivenTwiceAndABareWordAreNamed() throws {
        let twice = try check(
            """
            {
              "pages": [{ "page_id": "1", "dataset": "2" }],
              "mode": "shadow",
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }],
              "mode": "live"
            }
            """)
        #expect(
            twice.stderr == """
                capi-relay.json:5: mode: given twice (first on line 3); only one of them would \
                count, so keep one

                """)
        let bare = try check("{\n  \"mode\": shadow\n}\n")
        #expect(
            bare.stderr == """
                capi-relay.json:2:11: 'shadow' is not a value: put text in quotes, or use a \
                number, true, false or null

                """)
    }

    @Test func aLiteralSecretIsRefusedWithoutQuotingIt() throws {
        let result = try check(
            """
            {
              "pages": [{ "page_id": "1", "dataset": "2" }],
              "capi": {
                "access_token": "EAAB-pasted-by-mistake"
              },
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }]
            }
            """)
        #expect(result.status == 78)
        #expect(result.stderr.hasPrefix("capi-relay.json:4: capi.access_token: a secret is never"))
        #expect(!result.stderr.contains("EAAB-pasted-by-mistake"))
    }

    @Test func anEmptyFileAndAMissingFileAreConfigErrors() throws {
        let empty = try check("  // nothing but a comment\n")
        #expect(empty.status == 78)
        #expect(
            empty.stderr
                == "capi-relay.json:2:1: the file is empty; a config is one JSON object, { … }\n")

        let missing = try TestProcess(["config", "check", "/nonexistent/capi-relay.json"])
        #expect(try missing.waitForExit() == 78)
        #expect(missing.stderr == "/nonexistent/capi-relay.json: cannot read the file\n")
    }

    @Test(arguments: [
        ("[1, 2]", "an array"), (#""capi-relay""#, "a string"), ("// a port?\n8080", "a number"),
        ("null", "null"),
    ])
    func aTopLevelThatIsNotAnObjectIsNamedAsSuch(text: String, shape: String) throws {
        let result = try check(text, named: "arr.json")
        #expect(result.status == 78)
        #expect(
            result.stderr
                == "arr.json: the top level is \(shape); a config is one JSON object (JSON with"
                + " comments), { … }\n")
    }
}
