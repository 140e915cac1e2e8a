import Testing
import RelayCommandLine

@Suite struct CommandLineParserTests {
    @Test func typedValuesArriveAsTheirDeclaredTypes() throws {
        let serve = try #require(
            parse("serve", "--listen", "0.0.0.0:8080", "--events", "250", "--sample", "0.25")
                .command)
        #expect(serve.path == ["serve"])
        #expect(serve.string("listen") == "0.0.0.0:8080")
        #expect(serve.int("events") == 250)
        #expect(serve.double("sample") == 0.25)
    }

    @Test func equalsFormCarriesTheValueInTheSameWord() throws {
        let serve = try #require(
            parse("serve", "--listen=[::1]:8080", "--events=5", "--config=a=b.toml").command)
        #expect(serve.string("listen") == "[::1]:8080")
        #expect(serve.int("events") == 5)
        // Only the first '=' separates: the rest belongs to the value.
        #expect(serve.string("config") == "a=b.toml")
    }

    @Test func shortFormsTakeTheirValueFromTheNextWord() throws {
        let serve = try #require(parse("serve", "-l", ":9000", "-c", "relay.toml").command)
        #expect(serve.string("listen") == ":9000")
        #expect(serve.string("config") == "relay.toml")

        let demo = try #require(parse("demo", "-y").command)
        #expect(demo.flag("confirm"))
    }

    @Test func defaultsApplyWhenAnOptionIsLeftOut() throws {
        let serve = try #require(parse("serve").command)
        #expect(serve.string("listen") == "127.0.0.1:8080")
        #expect(serve.int("events") == 100)
        #expect(serve.double("sample") == 1.0)
        #expect(serve.string("config") == nil)
        #expect(serve.strings("tag") == [])
        #expect(!serve.flag("dry-run"))
    }

    @Test func flagsArePresentOrAbsent() throws {
        #expect(try #require(parse("serve", "--dry-run").command).flag("dry-run"))
        #expect(try !#require(parse("demo", "--events", "3").command).flag("confirm"))
    }

    @Test func repeatedOptionsKeepEveryValueInOrder() throws {
        let serve = try #require(
            parse("serve", "--tag", "eu", "--tag=web", "--tag", "eu").command)
        #expect(serve.strings("tag") == ["eu", "web", "eu"])

        let sandbox = try #require(
            parse("sandbox", "--fail-status", "500", "--fail-status", "429", "--latency", "0.5")
                .command)
        #expect(sandbox.ints("fail-status") == [500, 429])
        #expect(sandbox.doubles("latency") == [0.5])
    }

    @Test func positionalsFillDeclaredArgumentsInOrderAroundOptions() throws {
        let resend = try #require(
            parse("resend", "evt-1", "--dataset", "123", "operator asked").command)
        #expect(resend.positional("event-id") == "evt-1")
        #expect(resend.positional("note") == "operator asked")
        #expect(resend.string("dataset") == "123")

        let short = try #require(parse("resend", "evt-2").command)
        #expect(short.positional("note") == nil)
    }

    @Test func nestedGroupsResolveToTheLeafPath() throws {
        let check = try #require(parse("config", "check", "relay.toml").command)
        #expect(check.path == ["config", "check"])
        #expect(check.declaration.name == "check")
        #expect(check.positional("file") == "relay.toml")

        let example = try #require(parse("config", "example").command)
        #expect(example.path == ["config", "example"])
        #expect(try #require(parse("config", "check").command).positional("file") == nil)
    }

    @Test func doubleDashEndsOptions() throws {
        let check = try #require(parse("config", "check", "--", "--odd-name.toml").command)
        #expect(check.positional("file") == "--odd-name.toml")

        // After '--' even '--help' is only a word.
        let resend = try #require(parse("resend", "--", "--help", "-h").command)
        #expect(resend.positional("event-id") == "--help")
        #expect(resend.positional("note") == "-h")

        // '--' before the subcommand carries through to the leaf.
        let viaGroup = try #require(parse("config", "--", "check", "-x").command)
        #expect(viaGroup.positional("file") == "-x")
    }

    @Test func negativeNumbersAndALoneDashAreValues() throws {
        let sandbox = try #require(parse("sandbox", "--port", "-1").command)
        #expect(sandbox.int("port") == -1)

        let check = try #require(parse("config", "check", "-").command)
        #expect(check.positional("file") == "-")
    }

    @Test func versionIsItsOwnOutcomeAtTheTopLevelOnly() {
        #expect(parse("--version") == .version)
        #expect(parse("serve", "--version").error?.code == .unknownOption)
    }

    @Test func helpIsOfferedOnEveryCommandAndWinsOverMistakes() throws {
        let serveHelp = SampleCommands.parser.help(forPath: ["serve"])
        #expect(parse("serve", "--help").helpText == serveHelp)
        #expect(parse("serve", "--lisen", "x", "-h").helpText == serveHelp)
        #expect(parse("help", "serve").helpText == serveHelp)

        let checkHelp = SampleCommands.parser.help(forPath: ["config", "check"])
        #expect(parse("config", "check", "-h").helpText == checkHelp)
        #expect(parse("help", "config", "check").helpText == checkHelp)
        let configHelp = SampleCommands.parser.help(forPath: ["config"])
        #expect(parse("config", "--help").helpText == configHelp)

        let rootHelp = SampleCommands.parser.help(forPath: [])
        #expect(parse("--help").helpText == rootHelp)
        #expect(parse("help").helpText == rootHelp)
        #expect(parse("help", "help").helpText == rootHelp)
        #expect(SampleCommands.parser.help(forPath: ["nope"]) == nil)
    }

    @Test func aGroupWithoutASubcommandFailsAndCarriesItsHelp() throws {
        let error = try #require(parse("config").error)
        #expect(error.code == .missingCommand)
        #expect(
            error.message
                == "Missing command for 'capi-relay config'. Available commands: example, check.")
        #expect(error.help == SampleCommands.parser.help(forPath: ["config"]))
        #expect(error.exitCode == .usage)

        let root = try #require(parse().error)
        #expect(root.message == "Missing command for 'capi-relay'. Available commands: serve, "
            + "sandbox, demo, config, console, resend, help.")
    }

    @Test func aRootThatIsALeafParsesItsOwnOptions() throws {
        let parser = CommandLineParser(
            root: CommandDeclaration(
                "tool", abstract: "A single command.",
                options: [.int("count", short: "n", help: "How many.")]))
        let tool = try #require(parser.parse(["-n", "3"]).command)
        #expect(tool.path == [])
        #expect(tool.int("count") == 3)
        #expect(parser.parse(["--version"]) == .version)
    }
}
