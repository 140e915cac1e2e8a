import Foundation
import RelayCore
import RelayDelivery
import RelayIngest

/// Sends the generated funnel to the relay as signed webhooks, from several threads.
///
/// Each sender has its own seeded generator and its own share of the step budget, so a seed
/// gives the same funnel whatever the thread timing. A sender plays whole people, so one
/// person's steps arrive in order, as they would from one Messenger thread. Some posts batch
/// several entries; some are sent twice, as Meta does when it is unsure a delivery arrived, and
/// some repeats ride inside a later batch.
final class FunnelPlayer: @unchecked Sendable {
    private let options: DemoOptions
    private let url: URL
    private let appSecret: String
    private let transport = URLSessionTransport()
    private let lock = NSLock()
    /// Guarded by `lock`: funnel steps played so far.
    private var stepCount = 0
    /// Guarded by `lock`.
    private var postCount = 0
    /// Guarded by `lock`.
    private var refusedCount = 0
    /// Guarded by `lock`: messaging items in posts answered 200.
    private var acceptedItemCount = 0

    init(options: DemoOptions, relayPort: UInt16, appSecret: String) {
        self.options = options
        self.url = URL(string: "http://127.0.0.1:\(relayPort)/webhooks/messenger")!
        self.appSecret = appSecret
    }

    var steps: Int { lock.withLock { stepCount } }
    var posts: Int { lock.withLock { postCount } }
    var refusedPosts: Int { lock.withLock { refusedCount } }
    var acceptedItems: Int { lock.withLock { acceptedItemCount } }

    /// Sender `index`'s share of the step budget; nil when the demo runs until stopped.
    func budget(ofSender index: Int) -> Int? {
        options.events.map { events in
            events / options.senders + (index < events % options.senders ? 1 : 0)
        }
    }

    /// Plays people until this sender's budget is spent or a stop is requested.
    func runSender(_ index: Int) {
        var generator = FunnelGenerator(seed: options.seed, stream: index)
        var left = budget(ofSender: index)
        var previous: [FunnelGenerator.Step] = []

        while !stopRequested, left.map({ $0 > 0 }) ?? true {
            let start = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
            var steps = generator.nextPerson(startingAtMillis: start)
            if let budget = left {
                steps = Array(steps.prefix(budget))
                left = budget - steps.count
            }
            lock.withLock { stepCount += steps.count }

            while !steps.isEmpty && !stopRequested {
                // One to three of this person's next steps go in one post.
                let take = generator.chance(options.batchRate) ? 2 + generator.below(2) : 1
                var batch = Array(steps.prefix(take))
                steps.removeFirst(batch.count)

                let redeliver = generator.chance(options.redeliveryRate)
                if generator.chance(0.05) && !previous.isEmpty {
                    batch = previous + batch
                }
                send(batch)
                if redeliver { send(batch) }
                previous = batch
            }
        }
    }

    private var stopRequested: Bool {
        demoStopRequested.load(ordering: .relaxed)
    }

    private func send(_ steps: [FunnelGenerator.Step]) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let body = FunnelGenerator.body(steps, entryTimeMillis: now)
        let signature = MessengerSignature.header(for: body, appSecret: appSecret)
        let result = transport.post(
            url: url,
            headers: ["Content-Type": "application/json", "X-Hub-Signature-256": signature],
            body: body, timeoutSeconds: 10)
        let refused: Bool
        switch result {
        case .success(let response): refused = response.status != 200
        case .failure: refused = true
        }
        lock.withLock {
            postCount += 1
            if refused { refusedCount += 1 } else { acceptedItemCount += steps.count }
        }
    }
}
