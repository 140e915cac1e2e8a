import Foundation
import RelayCore

/// Numbers pipeline records, keeps the most recent ones, and fans them out to subscribers.
///
/// Publishing never waits for a subscriber: each has a bounded queue, and a subscriber that
/// falls behind loses records (and is told how many) rather than slowing the pipeline. Nor does
/// publishing write JSON: records are published from the journal's completion thread, which
/// answers every webhook, so each subscriber's own thread turns them into lines as it sends
/// them.
public final class FeedHub: @unchecked Sendable {
    /// How many recent records a new subscriber gets in its snapshot.
    public let historyLimit: Int
    /// How many lines may wait for one subscriber before it starts losing records.
    public let queueLimit: Int
    /// How long records gather before a subscriber's thread takes them; see
    /// `FeedSubscription`.
    public let gatherSeconds: Double

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var nextSequence: UInt64 = 1
    /// Guarded by `lock`.
    private var history: [FeedRecord] = []
    /// Guarded by `lock`.
    private var subscribers: [ObjectIdentifier: FeedSubscription] = [:]
    private let clock: @Sendable () -> Int64

    public init(
        historyLimit: Int = 200, queueLimit: Int = 10_000,
        gatherSeconds: Double = FeedSubscription.defaultGatherSeconds,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.historyLimit = historyLimit
        self.queueLimit = queueLimit
        self.gatherSeconds = gatherSeconds
        self.clock = clock
    }

    /// Records a stage and sends it to every subscriber.
    @discardableResult
    public func publish(_ stage: FeedStage, _ fields: [String: JSONValue]) -> FeedRecord {
        lock.lock()
        let record = FeedRecord(
            sequence: nextSequence, timeMillis: clock(), stage: stage, fields: fields)
        nextSequence += 1
        history.append(record)
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
        // Queued under the lock, so that records from two publishing threads reach every
        // subscriber in `seq` order; a queue's own lock is only ever held briefly.
        for subscription in subscribers.values {
            subscription.enqueue(record: record)
        }
        lock.unlock()
        return record
    }

    /// Sends a message that is not a record (stats) to every subscriber.
    public func broadcast(_ message: JSONValue) {
        let line = message.serialized()
        let targets = lock.withLock { Array(subscribers.values) }
        for subscription in targets {
            subscription.enqueue(message: line)
        }
    }

    /// A new subscriber: its queue starts with `greeting` (hello and snapshot, built from the
    /// history at this very moment, so that no record falls between snapshot and live flow).
    public func subscribe(
        greeting: ([FeedRecord]) -> [JSONValue]
    ) -> FeedSubscription {
        let subscription = FeedSubscription(queueLimit: queueLimit, gatherSeconds: gatherSeconds)
        lock.lock()
        for message in greeting(history) {
            subscription.enqueue(message: message.serialized())
        }
        subscribers[ObjectIdentifier(subscription)] = subscription
        lock.unlock()
        return subscription
    }

    public func unsubscribe(_ subscription: FeedSubscription) {
        lock.withLock { _ = subscribers.removeValue(forKey: ObjectIdentifier(subscription)) }
        subscription.close()
    }

    /// Records published so far.
    public var publishedCount: UInt64 {
        lock.withLock { nextSequence - 1 }
    }

    /// The most recent records, oldest first.
    public var recentRecords: [FeedRecord] {
        lock.withLock { history }
    }
}

/// One subscriber's bounded queue of lines.
///
/// The subscriber's thread is woken when records arrive at an empty queue, and then lets
/// more gather for a moment (`defaultGatherSeconds`) before it takes them, so that a busy
/// pipeline's records go out a few hundred to a write and the publishing threads rarely pay
/// for a wake-up. A command reply cuts the wait short: somebody is waiting for it.
public final class FeedSubscription: @unchecked Sendable {
    /// A record waits as it is and becomes a line in ``next()``, on the subscriber's thread.
    private enum Pending {
        case line([UInt8])
        case record(FeedRecord)
    }

    /// How long records gather before the subscriber's thread takes them. A console redraws
    /// a few times a second, so 20 ms is not seen; one wake-up and one write per record cost
    /// the relay a sixth more CPU per webhook at saturation (`capi-relay-bench ingest`).
    public static let defaultGatherSeconds = 0.02

    private let condition = NSCondition()
    private let queueLimit: Int
    private let gatherSeconds: Double
    /// Guarded by `condition`.
    private var lines: [Pending] = []
    /// Guarded by `condition`: records dropped since the subscriber last heard about it.
    private var missed = 0
    /// Guarded by `condition`: records dropped over the subscription's life.
    private var missedTotal = 0
    /// Guarded by `condition`.
    private var closed = false
    /// Guarded by `condition`: the subscriber's thread waits for an empty queue to fill, and
    /// the next line must wake it.
    private var waitingForLines = false
    /// Guarded by `condition`: a reply is queued, so the lines go now.
    private var replyQueued = false

    init(queueLimit: Int, gatherSeconds: Double) {
        self.queueLimit = queueLimit
        self.gatherSeconds = gatherSeconds
    }

    func enqueue(record: FeedRecord) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        if lines.count >= queueLimit {
            missed += 1
            missedTotal += 1
            return
        }
        lines.append(.record(record))
        wakeIfNeeded()
    }

    /// Messages other than records (greeting, stats, replies) are dropped like records when
    /// the queue is full, but not counted as missed records.
    func enqueue(message line: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, lines.count < queueLimit else { return }
        lines.append(.line(line))
        wakeIfNeeded()
    }

    /// Queues a command reply, which is never dropped: the client is waiting for it.
    public func enqueue(reply line: [UInt8]) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        lines.append(.line(line))
        replyQueued = true
        condition.signal()
    }

    /// With `condition` held: wakes the subscriber's thread when it waits for a first line, or
    /// when the queue is half full, so that gathering never overflows it.
    private func wakeIfNeeded() {
        if waitingForLines || lines.count >= queueLimit / 2 { condition.signal() }
    }

    /// Waits for lines, lets more gather for `gatherSeconds`, and takes them all; nil once
    /// closed. After an overflow the first line says how many records were lost.
    public func next() -> [[UInt8]]? {
        condition.lock()
        while lines.isEmpty && missed == 0 && !closed {
            waitingForLines = true
            condition.wait()
            waitingForLines = false
        }
        let gathered = Date(timeIntervalSinceNow: gatherSeconds)
        while !closed && !replyQueued && lines.count < queueLimit / 2 {
            guard condition.wait(until: gathered) else { break }
        }
        replyQueued = false
        if closed {
            condition.unlock()
            return nil
        }
        let missedNow = missed
        missed = 0
        let taken = lines
        lines.removeAll(keepingCapacity: true)
        condition.unlock()

        // Outside the lock, so that publishing never waits for this serialization.
        var batch: [[UInt8]] = []
        batch.reserveCapacity(taken.count + 1)
        if missedNow > 0 {
            batch.append(
                JSONValue.object(["type": "missed", "count": .integer(Int64(missedNow))])
                    .serialized())
        }
        for pending in taken {
            switch pending {
            case .line(let line): batch.append(line)
            case .record(let record): batch.append(record.serialized())
            }
        }
        return batch
    }

    /// Records this subscriber lost to overflow, over its life.
    public var missedRecords: Int {
        condition.withLock { missedTotal }
    }

    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
