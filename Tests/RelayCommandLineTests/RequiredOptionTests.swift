import RelayCommandLine
import Testing

/// Options a command cannot run without: shown bare in the usage line, refused when missing.
@Suite struct RequiredOptionTests {
    static let export = CommandDeclaration(
        "export", abstract: "Export records.",
        options: [
            .flag("records", required: true, help: "Export records, the only kind yet."),
            .string("format", valueName: "FORMAT", required: true, help: "csv or json."),
            .int("limit", valueName: "N", default: 10, help: "Most records to export."),
        ],
        arguments: [.optional("file", valueName: "FILE", help: "Where to write.")])
    static let parser = CommandLineParser(
        root: CommandDeclaration(group: "tool", abstract: "A tool.", subcommands: [export]))

    @Test func usageShowsARequiredOptionWithoutBracketsAndHelpSaysItIsRequired() throws {
        let help = try #require(Self.parser.parse(["export", "--help"]).helpText)
        #expect(
            help == """
                Export records.

                Usage: tool export --records --format FORMAT [--limit N] [FILE]

                Arguments:
                  FILE                 Where to write.

                Options:
                      --records        Export records, the only kind yet. (required)
                      --format FORMAT  csv or json. (required)
                      --limit N        Most records to export. (default: 10)
                  -h, --help           Show this help and exit.
                """)
    }

    @Test func aMissingRequiredOptionIsAUsageErrorNamingIt() throws {
        let noFormat = try #require(Self.parser.parse(["export", "--records", "out.csv"]).error)
        #expect(noFormat.code == .missingOption)
        #expect(noFormat.message == "Missing option '--format FORMAT'.")
        #expect(noFormat.commandName == "tool export")
        #expect(noFormat.exitCode == .usage)

        let noFlag = try #require(Self.parser.parse(["export", "--format", "csv"]).error)
        #expect(noFlag.message == "Missing option '--records'.")
    }

    @Test func aRequiredOptionMayStandAnywhereOnTheLine() throws {
        let parsed = try #require(
            Self.parser.parse(["export", "out.csv", "--format=json", "--records"]).command)
        #expect(parsed.string("format") == "json")
        #expect(parsed.flag("records"))
        #expect(parsed.positional("file") == "out.csv")
    }
}
