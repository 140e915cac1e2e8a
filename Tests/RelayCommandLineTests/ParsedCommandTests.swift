import Testing
import RelayCommandLine

@Suite struct ParsedCommandTests {
    @Test func aRepeatableOptionFallsBackToItsDefaultAlone() throws {
        let parser = CommandLineParser(
            root: CommandDeclaration(
                "tool", abstract: "Tool.",
                options: [.string("region", default: "eu", repeatable: true, help: "Region.")]))
        #expect(try #require(parser.parse([]).command).strings("region") == ["eu"])
        #expect(
            try #require(parser.parse(["--region", "us", "--region", "ap"]).command)
                .strings("region") == ["us", "ap"])
    }

    @Test func readingAnUndeclaredNameTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = parse("serve").command?.string("lisen")
        }
    }

    @Test func readingWithTheAccessorOfAnotherTypeTraps() async {
        await #expect(processExitsWith: .failure) {
            _ = parse("serve").command?.int("listen")
        }
        await #expect(processExitsWith: .failure) {
            _ = parse("serve").command?.string("tag")
        }
    }
}
