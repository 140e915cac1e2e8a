import Foundation
import RelayCore
import Testing

@testable import RelayFeed

@Suite struct FeedHubTests {
    func lines(_ batch: [[UInt8]]?) throws -> [JSONValue] {
        try (batch ?? []).map { try JSONValue(parsing: $0) }
    }

    @Test func recordsAreNumberedInOrderAndTheHistoryIsBounded() {
        let hub = FeedHub(historyLimit: 3, clock: { 1_764_763_200_123 })
        for index in 0..<5 {
            hub.publish(.received, ["delivery_id": .integer(Int64(index))])
        }
        #expect(hub.recentRecords.map(\.sequence) == [3, 4, 5])
        #expect(hub.publishedCount == 5)
        let json = hub.recentRecords[0].json
        #expect(json["type"] == "record")
        #expect(json["stage"] == "received")
        #expect(json["time"] == "2025-12-03T12:00:00.123Z")
    }

    @Test func aNewSubscriberGetsItsGreetingThenLiveRecords() throws {
        let hub = FeedHub()
        hub.publish(.received, [:])
        let subscription = hub.subscribe { recent in
            [.object(["type": "snapshot", "records": .integer(Int64(recent.count))])]
        }
        hub.publish(.mapped, ["event_id": "e1"])
        let messages = try lines(subscription.next())
        #expect(messages.map { $0["type"] } == ["snapshot", "record"])
        #expect(messages[0]["records"] == 1)
        #expect(messages[1]["seq"] == 2)
    }

    @Test func aSubscriberThatFallsBehindLosesRecordsAndIsToldHowMany() throws {
        let hub = FeedHub(queueLimit: 10)
        let subscription = hub.subscribe { _ in [] }
        for _ in 0..<25 {
            hub.publish(.received, [:])
        }
        let first = try lines(subscription.next())
        #expect(first.first?["type"] == "missed")
        #expect(first.first?["count"] == 15)
        #expect(first.count == 11)
        #expect(subscription.missedRecords == 15)

        // Publishing never waited for the subscriber: all 25 were numbered.
        #expect(hub.publishedCount == 25)
        hub.publish(.sent, [:])
        #expect(try lines(subscription.next()).map { $0["stage"] } == ["sent"])
    }

    @Test func repliesAreNeverDroppedEvenWhenTheQueueIsFull() throws {
        let hub = FeedHub(queueLimit: 2)
        let subscription = hub.subscribe { _ in [] }
        hub.publish(.received, [:])
        hub.publish(.received, [:])
        subscription.enqueue(reply: JSONValue.object(["type": "reply"]).serialized())
        #expect(try lines(subscription.next()).last?["type"] == "reply")
    }
}

@Suite struct FeedAccessPolicyTests {
    let relayUID: UInt32 = 1000

    @Test func theRelaysOwnUserAndRootMayConnect() {
        let policy = FeedAccessPolicy()
        #expect(policy.decide(.init(pid: 1, uid: 1000, gid: 1000), relayUID: relayUID).allowed)
        #expect(policy.decide(.init(pid: 1, uid: 0, gid: 0), relayUID: relayUID).allowed)
    }

    @Test func anotherUserIsRefusedWithTheReason() {
        let decision = FeedAccessPolicy().decide(
            .init(pid: 1, uid: 4242, gid: 4242), relayUID: relayUID)
        #expect(!decision.allowed)
        #expect(
            decision.reason == "uid 4242 is neither the relay's user, root, nor in an allowed group"
        )
    }

    @Test func aMemberOfAnAllowedGroupByPrimaryGroupMayConnect() throws {
        // `root` exists on every Linux system, with gid 0.
        let policy = FeedAccessPolicy(allowedGroups: ["root"])
        let decision = policy.decide(.init(pid: 1, uid: 4242, gid: 0), relayUID: relayUID)
        #expect(decision.allowed)
        #expect(decision.reason == "group root")
    }
}
