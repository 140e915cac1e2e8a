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

    @Test func aRecordIsSentAsTheSameJSONItsObjectWrites() throws {
        let records = [
            FeedRecord(sequence: 1, timeMillis: 0, stage: .received, fields: [:]),
            FeedRecord(
                sequence: 4_294_967_296, timeMillis: 1_796_000_000_009, stage: .dedupeHit,
                fields: [
                    "event_id": "lead-1", "rule": "event_id", "attempts": 3, "ok": true,
                    "reason": "quote \" and\nnewline", "fields": ["em", "ph"], "missing": nil,
                    "nested": ["code": 190, "retry_after_s": 1.5],
                    // A field named like one of the record's own: the record's wins, as in
                    // `json`.
                    "type": "forged", "seq": 0, "time": "earlier",
                ]),
        ]
        for record in records {
            #expect(
                String(decoding: record.serialized(), as: UTF8.self)
                    == record.json.serializedString)
        }
        #expect(FeedRecord.timestamp(1_796_000_000_009) == "2026-11-30T00:53:20.009Z")
        #expect(FeedRecord.timestamp(0) == "1970-01-01T00:00:00.000Z")
    }

    @Test func recordsGatherBeforeTheyGoAndAReplyGoesAtOnce() throws {
        let gathering = FeedHub(gatherSeconds: 0.3)
        let subscription = gathering.subscribe { _ in [] }
        gathering.publish(.received, [:])
        let started = Date()
        let later = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            gathering.publish(.mapped, [:])
        }
        later.start()
        // The second record, published while the first gathered, comes in the same batch.
        let batch = try lines(subscription.next())
        #expect(batch.map { $0["stage"] } == ["received", "mapped"])
        #expect(Date().timeIntervalSince(started) >= 0.25)

        // With a gathering time far longer than any wait here, a reply still goes at once,
        // and takes the records queued before it along.
        let slow = FeedHub(gatherSeconds: 60)
        let waiting = slow.subscribe { _ in [] }
        slow.publish(.sent, [:])
        waiting.enqueue(reply: Array(#"{"type":"reply"}"#.utf8))
        let replied = Date()
        #expect(try lines(waiting.next()).map { $0["type"] } == ["record", "reply"])
        #expect(Date().timeIntervalSince(replied) < 30)
    }

    @Test func recordsFromSeveralThreadsReachASubscriberInSequence() throws {
        let hub = FeedHub(gatherSeconds: 0)
        let subscription = hub.subscribe { _ in [] }
        let publishers = (0..<4).map { _ in
            Thread {
                for _ in 0..<2_000 { hub.publish(.received, [:]) }
            }
        }
        publishers.forEach { $0.start() }
        var sequences: [Int64] = []
        while sequences.count < 8_000, let batch = subscription.next() {
            sequences += try lines(batch).compactMap { $0["seq"]?.integerValue }
        }
        #expect(sequences == Array(1...8_000))
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
