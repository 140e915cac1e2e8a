import Testing
import RelayCommandLine

/// Every message is compared whole: a person reads all of it, so all of it is the contract.
@Suite struct CommandLineErrorTests {
    private func error(_ words: String...) throws -> CommandLineError {
        try #require(SampleCommands.parser.parse(words).error)
    }

    @Test func exitCodesFollowSysexits() {
        #expect(ExitCode.success.rawValue == 0)
        #expect(ExitCode.usage.rawValue == 64)
        #expect(ExitCode.config.rawValue == 78)
    }

    @Test func unknownOptionSuggestsTheNearestDeclaredName() throws {
        let error = try error("serve", "--lisen", "0.0.0.0:8080")
        #expect(error.code == .unknownOption)
        #expect(error.message == "Unknown option '--lisen'. Did you mean '--listen'?")
        #expect(error.commandName == "capi-relay serve")
        #expect(error.help == SampleCommands.parser.help(forPath: ["serve"]))
        #expect(error.exitCode == .usage)
    }

    @Test func unknownOptionQuotesTheNameButNotAnInlineValue() throws {
        #expect(
            try error("serve", "--evnets=10").message
                == "Unknown option '--evnets'. Did you mean '--events'?")
        #expect(
            try error("serve", "--max-delivery").message
                == "Unknown option '--max-delivery'. Did you mean '--max-delivery-attempts'?")
    }

    @Test func unknownOptionWithoutANearNameSaysOnlyWhatWasWrong() throws {
        #expect(try error("serve", "--frobnicate").message == "Unknown option '--frobnicate'.")
        #expect(try error("serve", "-x").message == "Unknown option '-x'.")
        #expect(try error("serve", "-lc").message == "Unknown option '-lc'.")
    }

    @Test func builtInOptionsAreSuggestedToo() throws {
        #expect(
            try error("--verison").message
                == "Unknown option '--verison'. Did you mean '--version'?")
        #expect(
            try error("demo", "--hepl").message
                == "Unknown option '--hepl'. Did you mean '--help'?")
    }

    @Test func unknownCommandSuggestsOrListsTheChoices() throws {
        let near = try error("serv")
        #expect(near.code == .unknownCommand)
        #expect(near.message == "Unknown command 'serv'. Did you mean 'serve'?")
        #expect(near.commandName == "capi-relay")

        #expect(
            try error("frobnicate").message
                == "Unknown command 'frobnicate'. Available commands: serve, sandbox, demo, "
                + "config, console, resend, help.")

        let nested = try error("config", "chek")
        #expect(nested.message == "Unknown command 'chek'. Did you mean 'check'?")
        #expect(nested.commandName == "capi-relay config")
        #expect(
            try error("config", "lint").message
                == "Unknown command 'lint'. Available commands: example, check.")
    }

    @Test func helpForAnUnknownCommandFailsLikeTheCommandWould() throws {
        #expect(
            try error("help", "consol").message
                == "Unknown command 'consol'. Did you mean 'console'?")
        let extra = try error("help", "serve", "now")
        #expect(extra.code == .unexpectedArgument)
        #expect(
            extra.message == "Unexpected argument 'now': 'capi-relay serve' has no subcommands.")
    }

    @Test func missingValueShowsHowTheOptionIsWritten() throws {
        let atEnd = try error("serve", "--listen")
        #expect(atEnd.code == .missingValue)
        #expect(atEnd.message == "Option '--listen' expects a value, as in '--listen ADDR'.")

        // Another option is never taken as the value.
        #expect(
            try error("serve", "-c", "--dry-run").message
                == "Option '-c' expects a value, as in '-c FILE'.")
        #expect(
            try error("serve", "--events", "--", "5").message
                == "Option '--events' expects a value, as in '--events N'.")
    }

    @Test func invalidValueNamesTheTypeAndQuotesTheInput() throws {
        let notInteger = try error("demo", "--events", "ten")
        #expect(notInteger.code == .invalidValue)
        #expect(notInteger.message == "Option '--events' expects an integer, got 'ten'.")

        #expect(
            try error("serve", "--events=").message
                == "Option '--events' expects an integer, got ''.")
        #expect(
            try error("sandbox", "-p", "80.5").message
                == "Option '-p' expects an integer, got '80.5'.")
        #expect(
            try error("serve", "--sample", "half").message
                == "Option '--sample' expects a number, got 'half'.")
        #expect(
            try error("serve", "--sample", "nan").message
                == "Option '--sample' expects a number, got 'nan'.")
    }

    @Test func aFlagGivenAValueSaysWhatToLeaveOut() throws {
        let error = try error("demo", "--confirm=yes")
        #expect(error.code == .invalidValue)
        #expect(error.message == "Flag '--confirm' takes no value; leave out '=yes'.")
    }

    @Test func aSingleValueOptionGivenTwiceIsRefused() throws {
        let twice = try error("serve", "--listen", ":1", "-l", ":2")
        #expect(twice.code == .unexpectedArgument)
        #expect(twice.message == "Option '-l' may be given only once.")
        #expect(
            try error("demo", "-y", "--confirm").message
                == "Option '--confirm' may be given only once.")
    }

    @Test func missingArgumentNamesThePlaceholder() throws {
        let error = try error("resend", "--dataset", "123")
        #expect(error.code == .missingArgument)
        #expect(error.message == "Missing argument 'EVENT-ID'.")
        #expect(error.commandName == "capi-relay resend")
    }

    @Test func unexpectedArgumentSaysHowManyTheCommandTakes() throws {
        let none = try error("console", "now")
        #expect(none.code == .unexpectedArgument)
        #expect(
            none.message
                == "Unexpected argument 'now': 'capi-relay console' takes no arguments.")
        #expect(
            try error("config", "check", "a.toml", "b.toml").message
                == "Unexpected argument 'b.toml': 'capi-relay config check' takes at most 1 "
                + "argument.")
        #expect(
            try error("resend", "evt-1", "note", "more").message
                == "Unexpected argument 'more': 'capi-relay resend' takes at most 2 arguments.")
    }

    @Test func theFirstMistakeOnTheLineIsReported() throws {
        #expect(
            try error("serve", "--events", "x", "--lisen", "y").message
                == "Option '--events' expects an integer, got 'x'.")
    }
}
