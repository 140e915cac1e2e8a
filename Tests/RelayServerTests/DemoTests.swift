import Foundation
import RelayJournal
import RelayTestSupport
import Testing

@testable import RelayServer

@Suite struct DemoTests {
    @Test func demoWithTwoHundredStepsExitsZeroAndItsTotalsAddUp() throws {
        let demo = try TestProcess(["demo", "--events", "200"])
        let status = try demo.waitForExit(timeout: 120)
        #expect(status == 0, "stderr: \(demo.stderr)")

        let output = demo.stdout
        let numbers = try totals(in: output)
        #expect(output.contains("funnel steps      200 messaging items"))
        #expect(numbers["received"]! >= 200, "redeliveries are received too")
        #expect(numbers["received"] == numbers["conversions"]! + numbers["non-conversions"]!)
        #expect(
            numbers["conversions"] == numbers["sent"]! + numbers["dedupe hits"]! + numbers[
                "expired"]! + numbers["failed"]!)
        #expect(numbers["dedupe hits"]! > 0, "the demo redelivers some webhooks")
        #expect(numbers["sent"]! > 0)
        #expect(!output.contains("DOES NOT"))
        // The sandbox's own record agrees: every sent event arrived, none twice.
        #expect(output.contains("[matches the journal, each once]"))
        #expect(output.contains("events accepted (\(numbers["sent"]!) distinct)"))
    }

    @Test func demoWithChaosStillAddsUpWhileTheSandboxFails() throws {
        let demo = try TestProcess(["demo", "--events", "100", "--chaos"])
        let status = try demo.waitForExit(timeout: 180)
        #expect(status == 0, "stderr: \(demo.stderr)")
        let output = demo.stdout
        #expect(!output.contains("DOES NOT"), "\(output)")
        #expect(output.contains("[matches the journal, each once]"))
        // Some requests were refused by the fault plan, and retried or split until delivered.
        let rejected = try NSRegularExpression(pattern: #"(\d+) rejected"#)
        let match = rejected.firstMatch(
            in: output, range: NSRange(output.startIndex..., in: output))
        let count = match.flatMap { Range($0.range(at: 1), in: output) }.flatMap { Int(output[$0]) }
        #expect((count ?? 0) > 0, "\(output)")
    }

    @Test func eachDemoGetsADirectoryOfItsOwnThatNoEarlierRunLeft() throws {
        // The name used to be the process id: a run killed before it cleaned up left its
        // journal for the next run with that id, whose totals then counted both.
        let first = try Demo.makeDirectory()
        let second = try Demo.makeDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        #expect(first != second)
        for directory in [first, second] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
            let mode =
                try FileManager.default.attributesOfItem(atPath: directory.path)[
                    .posixPermissions] as? Int
            #expect(mode == 0o700, "the journal and logs are this user's alone")
        }
    }

    @Test func totalsDoNotAddUpWhenTheJournalHoldsMoreThanTheDemoSent() {
        // A journal that received what this run did not send is not this run's journal.
        var journal = JournalCounters()
        journal.received = 442
        journal.conversions = 176
        journal.notConversions = 266
        let totals = DemoTotals(
            journal: journal, steps: 200, posts: 190, acceptedItems: 221, refusedPosts: 0,
            sandbox: SandboxTally(recordFile: "/nonexistent"))
        #expect(!totals.receivedAddsUp)
        #expect(!totals.allAddUp)
        #expect(Demo.report(totals).contains("received          442 = conversions 176"))
        #expect(Demo.report(totals).contains("DOES NOT ADD UP"))
    }

    /// Reads `received 200 = conversions 80 + non-conversions 120` and the next line's numbers.
    private func totals(in output: String) throws -> [String: Int] {
        var numbers: [String: Int] = [:]
        let names = [
            "received", "conversions", "non-conversions", "sent", "dedupe hits", "expired",
            "failed",
        ]
        for line in output.split(separator: "\n") where line.contains(" = ") {
            for name in names {
                let pattern = try NSRegularExpression(pattern: "(?:^|[ ])\(name) +(\\d+)")
                let text = String(line)
                if let match = pattern.firstMatch(
                    in: text, range: NSRange(text.startIndex..., in: text)),
                    let range = Range(match.range(at: 1), in: text), numbers[name] == nil
                {
                    numbers[name] = Int(text[range])
                }
            }
        }
        guard numbers.count == names.count else {
            throw TestFailure("totals not found in demo output:\n\(output)")
        }
        return numbers
    }
}
