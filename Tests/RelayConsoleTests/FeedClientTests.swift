import Foundation
import Testing

@testable import RelayConsole

@Suite("Feed client over a Unix socket")
struct FeedClientTests {
    /// Reads until `count` lines arrived or two seconds passed.
    func readLines(_ client: FeedClient, count: Int) throws -> [String] {
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(2)
        while lines.count < count && Date() < deadline {
            lines += try client.readLines()
            Thread.sleep(forTimeInterval: 0.01)
        }
        return lines
    }

    @Test func readsTheHelloAndSnapshotAsWholeLines() throws {
        let server = try FakeFeedServer(
            path: FeedFixtures.socketPath(), script: FeedFixtures.opening)
        defer { server.stop() }
        let client = try FeedClient(path: server.path)
        let lines = try readLines(client, count: 2)
        #expect(lines == FeedFixtures.opening)
        guard case .snapshot(_, let records) = FeedMessage(line: lines[1]) else {
            Issue.record("second line is not a snapshot")
            return
        }
        #expect(records.map(\.seq) == [1, 2, 3])
    }

    @Test func commandLinesReachTheRelayAndRepliesComeBack() throws {
        let server = try FakeFeedServer(
            path: FeedFixtures.socketPath(), script: [], respond: FeedFixtures.replies)
        defer { server.stop() }
        let client = try FeedClient(path: server.path)
        try client.send("inspect cr1.lead0001")
        #expect(server.waitForLine { $0.hasPrefix("inspect") } == "inspect cr1.lead0001")
        let reply = try readLines(client, count: 1)
        guard case .reply(let decoded) = FeedMessage(line: reply.first ?? "") else {
            Issue.record("no reply: \(reply)")
            return
        }
        #expect(decoded.result["outbound"]?["partner_agent"] == "capi-relay")
    }

    @Test func aRelayThatClosesIsReportedAfterItsLastLines() throws {
        let server = try FakeFeedServer(
            path: FeedFixtures.socketPath(), script: [FeedFixtures.hello])
        let client = try FeedClient(path: server.path)
        #expect(try readLines(client, count: 1) == [FeedFixtures.hello])
        server.stop()
        let deadline = Date().addingTimeInterval(2)
        var failure: FeedClient.Failure?
        while failure == nil && !client.isClosed && Date() < deadline {
            do { _ = try client.readLines() } catch { failure = error }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(failure?.description == "the relay closed the feed" || client.isClosed)
    }

    @Test func aMissingSocketNamesThePathInTheError() {
        #expect {
            _ = try FeedClient(path: "/tmp/no-such-capi-relay.sock")
        } throws: { error in
            "\(error)".contains("cannot connect to /tmp/no-such-capi-relay.sock")
        }
    }
}
