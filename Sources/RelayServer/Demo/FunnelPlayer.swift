import Foundation
import RelayCore
import RelayDelivery
import RelayIngest

/// Sends the generated funnel to the relay as signed webhooks, from several threads.
///
/// Each sender plays whole people, so one person's steps arrive in order, as they would from
/// one Messenger thread. Some posts batch several entries; some are sent twice, as Meta does
/// when it is unsure a delivery arrived, and some repeats ride inside a later batch.
final class FunnelPlayer: @unchecked Sendable {
    private let options: DemoOptions
    private let url: URL
    private let appSecret: String
    private let transport = URLSessionTransport()
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var generator: FunnelGenerator
    /// Guarded by `lock`: funnel steps handed out so far.
    private var stepsIssued = 0
    /// Guarded by `lock`.
    private var postCount = 0
    /// Guarded by `lock`.
    private var refusedCount = 0

    init(options: DemoOptions, relayPort: UInt16, appSecret: String) {
        self.options = options
        self.url = URL(string: "http://127.0.0.1:\(relayPort)/webhooks/messenger")!
        self.appSecret = appSecret
        self.generator = FunnelGenerator(seed: options.seed)
    }

    var posts: Int { lock.withLock { postCount } }
    var steps: Int { lock.withLock { stepsIssued } }
    var refusedPosts: Int { lock.withLock { refusedCount } }

    /// Plays people until the step budget is spent or a stop is requested.
    func runSender(_ index: Int) {
        var previous: [FunnelGenerator.Step] = []
        while !demoStopRequested.load(ordering: .relaxed), var steps = nextPerson() {
            while !steps.isEmpty && !demoStopRequested.load(ordering: .relaxed) {
                // One to three of this person's next steps go in one post.
                let take = lock.withLock {
                    generator.chance(options.batchRate) ? 2 + generator.below(2) : 1
                }
                var batch = Array(steps.prefix(take))
                steps.removeFirst(batch.count)

                let (redeliver, redeliverInBatch) = lock.withLock {
                    (generator.chance(options.redeliveryRate), generator.chance(0.05))
                }
                if redeliverInBatch && !previous.isEmpty {
                    batch = previous + batch
                }
                send(batch)
                if redeliver { send(batch) }
                previous = batch
            }
        }
    }

    /// The next person's steps, cut to the remaining budget; nil when it is spent.
    private func nextPerson() -> [FunnelGenerator.Step]? {
        lock.withLock {
            let now = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
            var steps = generator.nextPerson(startingAtMillis: now)
            if let budget = options.events {
                let left = budget - stepsIssued
                guard left > 0 else { return nil }
                steps = Array(steps.prefix(left))
            }
            stepsIssued += steps.count
            return steps
        }
    }

    private func send(_ steps: [FunnelGenerator.Step]) {
        let body = FunnelGenerator.body(
            steps, entryTimeMillis: Int64(Date().timeIntervalSince1970 * 1000))
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
            if refused { refusedCount += 1 }
        }
    }
}
