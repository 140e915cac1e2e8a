import Foundation
import RelayCore
import RelayTestSupport
import Testing

/// The `capi-relay` binary as a user meets it: help, mistakes, exit codes.
@Suite struct ExecutableTests {
    @Test(arguments: [
        ["--help"], ["serve", "--help"], ["sandbox", "--help"], ["demo", "--help"],
        ["config", "--help"], ["config", "example", "--help"], ["config", "check", "--help"],
        ["qa", "--help"], ["reconcile", "--help"], ["rules", "--help"], ["replay", "--help"],
        ["journal", "--help"], ["journal", "export-bodies", "--help"], ["console", "--help"],
        ["hash", "--help"], ["resend", "--help"], ["help", "serve"],
    ])
    func everyCommandHasHelp(arguments: [String]) throws {
        let process = try TestProcess(arguments)
        #expect(try process.waitForExit() == 0)
        #expect(process.stdout.contains("Usage: capi-relay"))
    }

    @Test func versionPrintsTheVersionAndExits0() throws {
        let process = try TestProcess(["--version"])
        #expect(try process.waitForExit() == 0)
        #expect(process.stdout == "capi-relay \(RelayVersion.current)\n")
        #expect(process.stderr == "")
    }

    @Test func serveHelpListsTheLoggingOptionsItParses() throws {
        let process = try TestProcess(["serve", "--help"])
        #expect(try process.waitForExit() == 0)
        #expect(process.stdout.contains("      --log-format FORMAT  logfmt (key=value) or json"))
        #expect(process.stdout.contains("[--log-format FORMAT]"))
        #expect(process.stdout.contains("      --log-level LEVEL    trace, debug, info"))
    }

    @Test func aMistypedOptionGetsASuggestionAndABadFormatIsAUsageError() throws {
        let typo = try TestProcess(["serve", "--log-formt", "json"])
        #expect(try typo.waitForExit() == 64)
        #expect(
            typo.stderr == """
                Unknown option '--log-formt'. Did you mean '--log-format'?
                Run 'capi-relay serve --help' for usage.

                """)
        let format = try TestProcess(["sandbox", "--log-format", "yaml"])
        #expect(try format.waitForExit() == 64)
        #expect(
            format.stderr == """
                Option '--log-format' expects logfmt or json.
                Run 'capi-relay sandbox --help' for usage.

                """)
    }

    @Test func aMistypedCommandGetsASuggestionAndExit64() throws {
        let process = try TestProcess(["serv"])
        #expect(try process.waitForExit() == 64)
        #expect(
            process.stderr == """
                Unknown command 'serv'. Did you mean 'serve'?
                Run 'capi-relay --help' for usage.

                """)
    }

    @Test(arguments: [
        (["hash", "--help"], "Usage: capi-relay hash --field FIELD [--country CC] VALUE..."),
        (
            ["reconcile", "--help"],
            "Usage: capi-relay reconcile --crm FILE [--since TIME] [--json]"
        ),
        (["resend", "--help"], "Usage: capi-relay resend --dead-letters [--config FILE]"),
    ])
    func usageShowsRequiredOptionsWithoutBrackets(arguments: [String], usage: String) throws {
        let process = try TestProcess(arguments)
        #expect(try process.waitForExit() == 0)
        #expect(process.stdout.contains(usage), "\(process.stdout)")
    }

    @Test func aMissingRequiredOptionIsAUsageError() throws {
        let process = try TestProcess(["hash", "a@example.com"])
        #expect(try process.waitForExit() == 64)
        #expect(
            process.stderr == """
                Missing option '--field FIELD'.
                Run 'capi-relay hash --help' for usage.

                """)
    }

    @Test func resendRefusesAReasonNoDeadLetterCanHaveAndListsTheCodes() throws {
        let bogus = try TestProcess(["resend", "--dead-letters", "--reason", "bogus", "--dry-run"])
        #expect(try bogus.waitForExit() == 64)
        #expect(
            bogus.stderr == """
                Option '--reason' got 'bogus'; expected a reason code (expired, \
                attempts_exhausted, transport, graph_N such as graph_100, http_N such as \
                http_404) or a bare Graph code such as 100.
                Run 'capi-relay resend --help' for usage.

                """)
        let typo = try TestProcess(["resend", "--dead-letters", "--reason", "expird"])
        #expect(try typo.waitForExit() == 64)
        #expect(typo.stderr.contains("Did you mean 'expired'?"), "\(typo.stderr)")

        // A code of the documented shapes gets past the check, to the missing config.
        for reason in ["expired", "graph_100", "http_404", "100"] {
            let known = try TestProcess(
                [
                    "resend", "--dead-letters", "--reason", reason, "--dry-run", "--config",
                    "/nonexistent.json",
                ])
            #expect(try known.waitForExit() == 78, "\(reason): \(known.stderr)")
        }
    }

    static let nameTheConfig = "name the relay's config with --config FILE"
    @Test(arguments: [
        (["qa"], "\(nameTheConfig), which --journal still needs"),
        (["qa", "--journal", "copy.sqlite"], "\(nameTheConfig), which --journal still needs"),
        (["reconcile", "--crm", "export.csv"], "\(nameTheConfig), which --journal still needs"),
        (["journal", "export-bodies"], "\(nameTheConfig), which --journal still needs"),
        (["rules"], nameTheConfig), (["replay", "day.jsonl"], nameTheConfig),
        (["resend", "--dead-letters"], nameTheConfig), (["serve"], nameTheConfig),
        (["config", "check"], "name the config: capi-relay config check FILE"),
    ])
    func aCommandRunWhereNoConfigIsSaysHowToNameOne(arguments: [String], hint: String) throws {
        let empty = FileManager.default.temporaryDirectory
            .appendingPathComponent("no-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }

        let process = try TestProcess(arguments, currentDirectory: empty)
        #expect(try process.waitForExit() == 78)
        let problem = "capi-relay.json: not found in this directory; \(hint)"
        if arguments == ["serve"] {
            // serve says it through its logger, in the format its logs go in.
            #expect(process.stderr.contains("problem=\"\(problem)\""), "\(process.stderr)")
        } else {
            #expect(process.stderr == problem + "\n")
        }
    }

    @Test func secretsOnTheCommandLineAreRefusedWithoutEchoingThem() throws {
        let process = try TestProcess(["serve", "--access-token", "EAAB-very-secret"])
        #expect(try process.waitForExit() == 64)
        #expect(process.stderr.contains("secrets never go on the command line"))
        #expect(!process.stderr.contains("EAAB-very-secret"))
    }

    @Test func configCheckExits78AndListsEveryProblem() throws {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("bad-\(UUID().uuidString).json")
        try #"{ "listen": "nowhere", "pages": [], "rules": [] }"#
            .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let process = try TestProcess(["config", "check", file.path])
        #expect(try process.waitForExit() == 78)
        let lines = process.stderr.split(separator: "\n")
        #expect(lines.count == 3, "\(process.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix(Substring(file.path + ":1: ")) })
    }

    @Test func theExampleConfigPrintedPassesTheCheck() throws {
        let example = try TestProcess(["config", "example"])
        #expect(try example.waitForExit() == 0)
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("example-\(UUID().uuidString).json")
        try example.stdout.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let check = try TestProcess(
            ["config", "check", file.path],
            environment: [
                "CAPI_RELAY_APP_SECRET": "a", "CAPI_RELAY_VERIFY_TOKEN": "b",
                "CAPI_RELAY_ACCESS_TOKEN": "c", "CAPI_RELAY_CRM_SECRET": "",
                "CAPI_RELAY_EVENTS_TOKEN": "d", "CAPI_RELAY_INGEST_TOKEN": "e",
            ])
        #expect(try check.waitForExit() == 0)
        #expect(
            check.stdout
                == "\(file.path): valid, but serve will not start here: 2 settings lack their secrets"
                + " (see above)\n")
        // The config is sound; the environment lacks one secret (which signs both the CRM
        // posts and the CRM's echoes), which is a warning for each use.
        #expect(
            check.stderr == """
                warning: \(file.path): crm.secret: no value in environment variable \
                CAPI_RELAY_CRM_SECRET; serve will not start without it
                warning: \(file.path): crm_echo.secret: no value in environment variable \
                CAPI_RELAY_CRM_SECRET; serve will not start without it

                """)
    }

    @Test func serveWithoutItsSecretsNamesTheMissingVariablesAndExits78() throws {
        let example = try TestProcess(["config", "example"])
        _ = try example.waitForExit()
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("example-\(UUID().uuidString).json")
        try example.stdout.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let serve = try TestProcess(
            ["serve", "--config", file.path],
            environment: [
                "CAPI_RELAY_APP_SECRET": "", "CAPI_RELAY_VERIFY_TOKEN": "",
                "CAPI_RELAY_ACCESS_TOKEN": "", "CAPI_RELAY_CRM_SECRET": "",
            ])
        #expect(try serve.waitForExit() == 78)
        #expect(serve.stderr.contains("capi.access_token: no value in environment variable"))

        // In JSON, the refusal is JSON too: a log pipeline reads the lines that matter most.
        let json = try TestProcess(
            ["serve", "--config", file.path, "--log-format", "json"],
            environment: [
                "CAPI_RELAY_APP_SECRET": "", "CAPI_RELAY_VERIFY_TOKEN": "",
                "CAPI_RELAY_ACCESS_TOKEN": "", "CAPI_RELAY_CRM_SECRET": "",
            ])
        #expect(try json.waitForExit() == 78)
        let lines = json.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["msg"] as? String == "config problem", "\(line)")
        }
        #expect(json.stderr.contains("capi.access_token: no value in environment variable"))
    }

    @Test func hashPrintsMetasDocumentedNormalizationAndHashes() throws {
        let phone = try TestProcess(["hash", "--field", "ph", "(650)555-1212"])
        #expect(try phone.waitForExit() == 0)
        #expect(
            phone.stdout == """
                16505551212 e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176

                """)
        let email = try TestProcess(["hash", "-f", "em", " John_Smith@gmail.com ", "not-an-email"])
        #expect(try email.waitForExit() == 1, "a dropped value makes the command fail")
        #expect(
            email.stdout == """
                john_smith@gmail.com 62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f

                """)
        #expect(email.stderr.hasPrefix("dropped: invalid_email"))
        #expect(!email.stderr.contains("not-an-email"), "the reason never quotes the value")
    }

    @Test func theDemoRunsUntilCtrlCThenPrintsTotalsThatAddUp() throws {
        let demo = try TestProcess(["demo"])
        #expect(eventually(timeout: 30) { demo.stdout.contains("sent ") })
        Thread.sleep(forTimeInterval: 1)
        demo.kill(SIGINT)
        #expect(try demo.waitForExit(timeout: 60) == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("Totals"))
        #expect(demo.stdout.components(separatedBy: "[adds up]").count == 3, "\(demo.stdout)")
    }
}
