import Testing
@testable import RelayCommandLine

@Suite struct HelpFormatterTests {
    @Test func leafHelpIsGeneratedWhole() throws {
        let help = try #require(parse("serve", "--help").helpText)
        #expect(
            help == """
                Run the relay: accept conversion events and deliver them to Meta.

                Usage: capi-relay serve [--listen ADDR] [--config FILE] [--events N]
                                        [--sample NUMBER] [--tag TAG ...]
                                        [--max-delivery-attempts N] [--dry-run]

                The relay journals every accepted event before it answers, then delivers from
                the journal in the background, retrying with backoff until Meta accepts the
                event or it is dead-lettered.

                  capi-relay serve --listen 0.0.0.0:8080
                  capi-relay serve -c /etc/capi-relay/relay.toml --tag eu --tag web

                Options:
                  -l, --listen ADDR         Address and port to accept events on.
                                            (default: 127.0.0.1:8080)
                  -c, --config FILE         The relay's config file.
                      --events N            Most events sent to Meta in one request; Meta
                                            accepts up to 1000. (default: 100)
                      --sample NUMBER       Share of test events to keep, from 0 to 1.
                                            (default: 1.0)
                      --tag TAG             A label added to every log line of this process.
                                            (may be repeated)
                      --max-delivery-attempts N
                                            Attempts before an event is dead-lettered.
                                            (default: 12)
                      --dry-run             Accept and journal events but deliver none.
                  -h, --help                Show this help and exit.
                """)
    }

    @Test func rootHelpListsCommandsAndTheBuiltIns() throws {
        let help = try #require(parse("help").helpText)
        #expect(
            help == """
                Relay server-side conversion events to Meta's Conversions API.

                Usage: capi-relay <command>

                Options:
                      --version  Show the version and exit.
                  -h, --help     Show this help and exit.

                Commands:
                  serve          Run the relay: accept conversion events and deliver them to
                                 Meta.
                  sandbox        Run a local stand-in for Meta's Conversions API.
                  demo           Send sample events through a relay and a sandbox.
                  config         Write or check a relay config file.
                  console        Watch deliveries live in the terminal.
                  resend         Deliver a dead-lettered event again.
                  help           Show the help of a command.

                Run 'capi-relay <command> --help' for the options of a command.
                """)
    }

    @Test func argumentsShowRequiredBareAndOptionalInBrackets() throws {
        let help = try #require(parse("help", "resend").helpText)
        #expect(
            help == """
                Deliver a dead-lettered event again.

                Usage: capi-relay resend [--dataset ID] EVENT-ID [NOTE]

                Arguments:
                  EVENT-ID          The event to deliver again.
                  NOTE              Why it is sent again, for the journal.

                Options:
                      --dataset ID  The dataset the event belongs to.
                  -h, --help        Show this help and exit.
                """)
    }

    @Test func nestedGroupHelpNamesItsFullPath() throws {
        let help = try #require(parse("config", "-h").helpText)
        #expect(
            help == """
                Write or check a relay config file.

                Usage: capi-relay config <command>

                Options:
                  -h, --help  Show this help and exit.

                Commands:
                  example     Print an example config file.
                  check       Check a config file and report every problem.

                Run 'capi-relay config <command> --help' for the options of a command.
                """)
    }

    @Test(arguments: [
        [], ["serve"], ["sandbox"], ["demo"], ["config"], ["config", "example"],
        ["config", "check"], ["console"], ["resend"],
    ])
    func everyHelpLineFitsEightyColumns(path: [String]) throws {
        let help = try #require(SampleCommands.parser.help(forPath: path))
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(line.count <= 80, "too wide: \(line)")
            #expect(line.last != " ", "trailing space: \(line)")
        }
    }

    @Test func wrapFillsLinesAndNeverBreaksAWord() {
        let formatter = HelpFormatter(width: 20)
        let words = ["one", "two", "three", "four", "/a/very/long/path/to/a/file", "end"]
        #expect(
            formatter.wrap(words, firstPrefix: "> ", indent: 2) == [
                "> one two three four",
                "  /a/very/long/path/to/a/file",
                "  end",
            ])
    }

    @Test func longUsageWrapsUnderTheCommandNameOrAtEightColumns() {
        let command = CommandDeclaration(
            "x", abstract: "X.",
            options: [
                .flag("alpha", help: "A."), .flag("bravo", help: "B."),
                .flag("charlie", help: "C."),
            ])
        #expect(
            HelpFormatter(width: 30).usage(of: command, fullName: "tool x") == [
                "Usage: tool x [--alpha]",
                "              [--bravo]",
                "              [--charlie]",
            ])
        // A name longer than half the width would leave the options a sliver.
        #expect(
            HelpFormatter(width: 30).usage(of: command, fullName: "long-tool-name x") == [
                "Usage: long-tool-name x",
                "        [--alpha] [--bravo]",
                "        [--charlie]",
            ])
    }
}
