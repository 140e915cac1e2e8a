import Testing
@testable import RelayCommandLine

@Suite struct SecretOptionGuardTests {
    private let expected = "Option '--access-token' is not accepted: secrets never go on the "
        + "command line, where other users can read them in the process list and the shell "
        + "keeps them in its history. Put the secret in an environment variable or in a file "
        + "named in the config."

    @Test func aSecretOptionIsRefusedWithWhereSecretsBelong() throws {
        let error = try #require(parse("serve", "--access-token", "EAAB-secret-value").error)
        #expect(error.code == .unknownOption)
        #expect(error.message == expected)
        #expect(error.exitCode == .usage)
    }

    @Test func theValueIsNeverRepeatedBack() throws {
        let error = try #require(parse("serve", "--access-token=EAAB-secret-value").error)
        #expect(error.message == expected)
        #expect(!error.message.contains("EAAB"))
        #expect(!error.help.contains("EAAB"))
    }

    @Test(arguments: [
        "--access-token", "--app-secret", "--token", "--secret", "--verify-token", "--crm-secret",
        "--APP_SECRET", "--page-access-token", "--password",
    ])
    func everySecretShapedOptionGetsTheTailoredMessage(option: String) throws {
        // At a group level too, before any subcommand is chosen.
        for words in [["demo", option, "x"], [option, "x"], ["config", option]] {
            let error = try #require(SampleCommands.parser.parse(words).error)
            #expect(error.code == .unknownOption)
            #expect(error.message.hasPrefix("Option '\(option)' is not accepted: secrets never go"))
        }
    }

    @Test func wordsThatOnlyContainASecretWordAreOrdinaryUnknownOptions() {
        #expect(!SecretOptionGuard.looksLikeSecret("tokenizer"))
        #expect(!SecretOptionGuard.looksLikeSecret("secretary"))
        #expect(SecretOptionGuard.looksLikeSecret("Verify_Token"))
    }

    @Test func aDeclaredOptionIsNeverMistakenForASecret() throws {
        let parser = CommandLineParser(
            root: CommandDeclaration(
                "tool", abstract: "Reads a token from a file.",
                options: [.string("token-file", valueName: "PATH", help: "File with the token.")]))
        let tool = try #require(parser.parse(["--token-file", "/run/secrets/token"]).command)
        #expect(tool.string("token-file") == "/run/secrets/token")
    }
}
