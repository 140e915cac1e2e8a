import RelayCommandLine
import Testing

@Suite struct VariadicArgumentTests {
    static let hash = CommandDeclaration(
        "hash", abstract: "Hash values.",
        options: [.string("field", valueName: "FIELD", help: "The field.")],
        arguments: [
            .required("salt", help: "A salt."),
            .variadic("value", valueName: "VALUE", help: "The values."),
        ])
    static let parser = CommandLineParser(
        root: CommandDeclaration(group: "tool", abstract: "A tool.", subcommands: [hash]))

    @Test func aVariadicLastArgumentTakesEveryRemainingWordInOrder() throws {
        let parsed = try #require(
            Self.parser.parse(["hash", "s", "a", "--field", "em", "b", "c"]).command)
        #expect(parsed.positional("salt") == "s")
        #expect(parsed.positionals("value") == ["a", "b", "c"])
        #expect(parsed.string("field") == "em")
    }

    @Test func atLeastOneValueIsRequired() {
        let error = Self.parser.parse(["hash", "s"]).error
        #expect(error?.code == .missingArgument)
        #expect(error?.message == "Missing argument 'VALUE'.")
    }

    @Test func helpShowsTheEllipsis() throws {
        let help = try #require(Self.parser.parse(["hash", "--help"]).helpText)
        #expect(help.contains("Usage: tool hash [--field FIELD] SALT VALUE..."))
    }
}
