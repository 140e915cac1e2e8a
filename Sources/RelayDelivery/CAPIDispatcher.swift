import Foundation
import RelayCore
import RelayJournal

/// Where and how the relay sends conversions to the Conversions API.
public struct CAPIDestination: Sendable {
    /// `https://graph.facebook.com`, or the sandbox's address.
    public var graphURL: String
    /// `v25.0`.
    public var apiVersion: String
    public var accessToken: String
    /// When set, every request carries `appsecret_proof`.
    public var appSecret: String?
    /// Sent with every request while testing in Events Manager; remove it in production.
    public var testEventCode: String?
    public var partnerAgent: String?
    /// At most 1,000: Meta's limit per request.
    public var maxBatchSize: Int
    /// Seconds between delivery passes; events arriving meanwhile share a batch.
    public var flushIntervalSeconds: Double
    /// Seconds; Meta recommends 1.5.
    public var requestTimeoutSeconds: Double
    public var retry: RetryPolicy
    /// Requests in flight at once, across datasets and batches.
    public var concurrency: Int
    /// Requests per second at most, on average; nil for no limit.
    public var requestsPerSecond: Double?

    public static let metaMaxBatchSize = 1000
    /// Meta refuses events older than 7 days.
    public static let maxEventAgeSeconds: Int64 = 7 * 24 * 3600

    public init(
        graphURL: String, apiVersion: String, accessToken: String, appSecret: String? = nil,
        testEventCode: String? = nil, partnerAgent: String? = nil, maxBatchSize: Int = 1000,
        flushIntervalSeconds: Double = 1, requestTimeoutSeconds: Double = 1.5,
        retry: RetryPolicy = RetryPolicy(), concurrency: Int = 2, requestsPerSecond: Double? = nil
    ) {
        self.concurrency = max(concurrency, 1)
        self.requestsPerSecond = requestsPerSecond
        self.graphURL = graphURL
        self.apiVersion = apiVersion
        self.accessToken = accessToken
        self.appSecret = appSecret
        self.testEventCode = testEventCode
        self.partnerAgent = partnerAgent
        self.maxBatchSize = min(max(maxBatchSize, 1), CAPIDestination.metaMaxBatchSize)
        self.flushIntervalSeconds = flushIntervalSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.retry = retry
    }

    /// The events URL for a dataset, with the token (and proof) in the query as Meta documents.
    func eventsURL(dataset: String) -> URL? {
        var components = URLComponents(string: graphURL)
        let base = components?.path ?? ""
        components?.path =
            (base.hasSuffix("/") ? String(base.dropLast()) : base)
            + "/\(apiVersion)/\(dataset)/events"
        var query = [URLQueryItem(name: "access_token", value: accessToken)]
        if let appSecret {
            query.append(
                URLQueryItem(
                    name: "appsecret_proof",
                    value: Crypto.hmacSHA256Hex(key: appSecret, message: accessToken)))
        }
        components?.queryItems = query
        return components?.url
    }
}

/// Sends pending conversions to CAPI in batches per dataset, and records every attempt.
///
/// A failed request is handled by its `FailureClass`: transient failures wait their backoff,
/// a batch refused for its content is split in halves until the bad events stand alone (they
/// become dead letters with Meta's reason, the rest is delivered), a refused token pauses the
/// whole destination until `update(_:)` brings a new one, and anything else is dead-lettered.
public final class CAPIDispatcher: @unchecked Sendable {
    private let journal: any Journal
    private let transport: any OutboundHTTP
    private let clock: DeliveryClock
    private let logger: Logger
    private let observer: DeliveryObserver
    private var worker: DeliveryWorker!
    private let limiter: RateLimiter
    /// Outcomes the journal refused; while there are any, nothing is sent.
    private let held: HeldOutcomes
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var currentDestination: CAPIDestination
    /// Guarded by `lock`; set while the token is refused.
    private var pause: DeliveryFailure?
    /// Guarded by `lock`.
    private var stopping = false

    public init(
        journal: any Journal, destination: CAPIDestination, transport: any OutboundHTTP,
        clock: DeliveryClock = .system, logger: Logger = .silent,
        observer: @escaping DeliveryObserver = { _ in }
    ) {
        self.observer = observer
        self.journal = journal
        self.currentDestination = destination
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.held = HeldOutcomes(destination: .capi, journal: journal, logger: logger)
        limiter = RateLimiter(requestsPerSecond: destination.requestsPerSecond)
        worker = DeliveryWorker(
            name: "capi-dispatcher", intervalSeconds: destination.flushIntervalSeconds
        ) { [unowned self] in
            self.deliverDue()
        }
    }

    public func start() { worker.start() }

    /// Delivers now instead of at the next tick.
    public func wake() { worker.wake() }

    /// Stops after the batches in flight, which are recorded before this returns unless the
    /// deadline passes first. No new batch starts once this is called.
    /// - Parameter deadlineSeconds: nil waits as long as the batches take.
    /// - Returns: false when a batch was still in flight at the deadline.
    @discardableResult
    public func stop(deadlineSeconds: Double? = nil) -> Bool {
        lock.withLock { stopping = true }
        limiter.cancel()
        return worker.stop(deadlineSeconds: deadlineSeconds)
    }

    /// The destination as it is now.
    public var destination: CAPIDestination { lock.withLock { currentDestination } }

    /// Why delivery is paused, or nil while it runs.
    public var pausedBecause: DeliveryFailure? { lock.withLock { pause } }

    /// Takes new settings (a config reload): token, URL, batch size, timeouts, retry policy,
    /// concurrency and rate. A paused destination resumes, since the token may be new; if it
    /// is still refused the next request pauses it again, one request later.
    public func update(_ destination: CAPIDestination) {
        let wasPaused = lock.withLock {
            currentDestination = destination
            defer { pause = nil }
            return pause != nil
        }
        limiter.update(requestsPerSecond: destination.requestsPerSecond)
        if wasPaused {
            observer(.resumed(destination: "capi"))
            logger.notice("delivery resumed", [("destination", "capi")])
        }
        worker.wake()
    }

    private var mayStartRequest: Bool {
        lock.withLock { pause == nil && !stopping } && held.isEmpty
    }

    /// One pass: everything due now, in batches. Returns true when a full batch was sent, as
    /// more may be waiting.
    @discardableResult
    public func deliverDue() -> Bool {
        guard held.recordHeld(), mayStartRequest else { return false }
        let destination = self.destination
        let now = clock.nowMillis()
        let pending: [PendingConversion]
        do {
            pending = try journal.due(
                for: .capi, nowMillis: now, limit: destination.maxBatchSize * 4)
        } catch {
            logger.error("journal read failed", [("destination", "capi"), ("error", "\(error)")])
            return false
        }
        guard !pending.isEmpty else { return false }

        // Group per dataset and test_event_code (a request carries one of each), keeping the
        // journal's order inside each.
        struct Group: Hashable {
            var dataset: String
            var testEventCode: String?
        }
        var order: [Group] = []
        var byGroup: [Group: [PendingConversion]] = [:]
        for item in pending {
            let group = Group(
                dataset: item.conversion.dataset,
                testEventCode: item.conversion.testEventCode ?? destination.testEventCode)
            if byGroup[group] == nil { order.append(group) }
            byGroup[group, default: []].append(item)
        }
        let chunks = order.flatMap { group in
            let items = byGroup[group] ?? []
            return stride(from: 0, to: items.count, by: destination.maxBatchSize).map { start in
                let end = min(start + destination.maxBatchSize, items.count)
                return (group: group, items: Array(items[start..<end]))
            }
        }

        // Up to `concurrency` batches on the wire at once; each lane takes every n-th chunk.
        let lanes = min(destination.concurrency, chunks.count)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: chunks.count, by: lanes) {
                guard mayStartRequest else { return }
                // On a shared journal a later chunk could start after its claim lapsed; what
                // is left is claimed again next pass.
                guard
                    journal.claimHolds(
                        since: now, now: clock.nowMillis(),
                        forRequestOf: destination.requestTimeoutSeconds)
                else { return }
                let chunk = chunks[index]
                deliver(
                    chunk.items, dataset: chunk.group.dataset,
                    testEventCode: chunk.group.testEventCode, to: destination)
            }
        }
        let sentFullBatch = chunks.contains { $0.items.count == destination.maxBatchSize }
        return mayStartRequest
            && (sentFullBatch || pending.count == destination.maxBatchSize * 4)
    }

    private func deliver(
        _ items: [PendingConversion], dataset: String, testEventCode: String?,
        to destination: CAPIDestination
    ) {
        let now = clock.nowMillis()

        // An event past Meta's age limit would sink the whole batch: it leaves the queue as
        // a dead letter, with the reason, and is never sent.
        let oldest = now / 1000 - CAPIDestination.maxEventAgeSeconds + 60
        let (expired, fresh) = items.partitioned { $0.conversion.eventTime < oldest }
        if !expired.isEmpty {
            let changes = expired.map { item in
                (
                    conversionID: item.conversionID,
                    change: DeliveryStateChange.expired(
                        reason: "event_time \(item.conversion.eventTime) is older than Meta's"
                            + " 7-day limit")
                )
            }
            record(attempt: nil, changes: changes)
            for (item, change) in zip(expired, changes) {
                if case .expired(let reason) = change.change {
                    observer(.expired(eventID: item.conversion.eventID, reason: reason))
                }
            }
            logger.warning(
                "events expired before delivery",
                [("dataset", dataset), ("count", "\(expired.count)")])
        }
        guard !fresh.isEmpty else { return }
        send(fresh, dataset: dataset, testEventCode: testEventCode, to: destination)
    }

    /// Posts one batch and acts on the answer; calls itself on each half of a split batch.
    private func send(
        _ items: [PendingConversion], dataset: String, testEventCode: String?,
        to destination: CAPIDestination
    ) {
        guard mayStartRequest, limiter.acquire() else { return }
        guard let url = destination.eventsURL(dataset: dataset) else {
            logger.error("invalid graph url", [("dataset", dataset)])
            return
        }
        let body = CAPIEventEncoder.batch(
            items.map(\.conversion), testEventCode: testEventCode,
            partnerAgent: destination.partnerAgent
        ).serialized()

        let started = clock.nowMillis()
        let result = transport.post(
            url: url, headers: ["Content-Type": "application/json"], body: body,
            timeoutSeconds: destination.requestTimeoutSeconds)
        let finished = clock.nowMillis()
        let ids = items.map(\.conversionID)
        func attempt(_ status: Int?, _ response: String, _ outcome: String) -> DeliveryAttempt {
            DeliveryAttempt(
                destination: .capi, dataset: dataset, startedAtMillis: started,
                finishedAtMillis: finished, httpStatus: status, response: response,
                outcome: outcome, conversionIDs: ids,
                request: String(decoding: body, as: UTF8.self))
        }

        let failure: DeliveryFailure
        let responseText: String
        switch result {
        case .success(let response) where (200..<300).contains(response.status):
            record(
                attempt: attempt(
                    response.status, String(decoding: response.body, as: UTF8.self), "sent"),
                changes: ids.map { (conversionID: $0, change: .sent) })
            let answer = GraphResponseSummary(response.body)
            observer(
                .sent(
                    destination: "capi", dataset: dataset,
                    eventIDs: items.map(\.conversion.eventID),
                    status: response.status, eventsReceived: answer.eventsReceived,
                    fbtraceID: answer.fbtraceID))
            logger.info(
                "batch delivered",
                [
                    ("dataset", dataset), ("events", "\(ids.count)"),
                    ("status", "\(response.status)"),
                ])
            return
        case .success(let response):
            failure = DeliveryFailure.graph(
                status: response.status, body: response.body,
                retryAfter: response.headers["retry-after"])
            responseText = String(decoding: response.body, as: UTF8.self)
        case .failure(let transportFailure):
            failure = DeliveryFailure.transport(transportFailure)
            responseText = transportFailure.message
        }

        let plan = FailurePlan.plan(for: failure, batchSize: items.count)
        var changes: [(conversionID: Int64, change: DeliveryStateChange)] = []
        let outcome: String
        switch plan {
        case .retry:
            for item in items {
                let step = destination.retry.step(
                    afterAttempts: item.attempts + 1, retryAfter: failure.retryAfterSeconds,
                    nowMillis: finished, unit: clock.jitterUnit())
                switch step {
                case .retry(let at):
                    changes.append(
                        (item.conversionID, .retry(atMillis: at, reason: failure.summary)))
                case .giveUp:
                    changes.append(
                        (
                            item.conversionID,
                            .failed(
                                DeadLetterReason(
                                    failure, code: DeadLetterReason.attemptsExhaustedCode,
                                    prefix: "gave up after \(item.attempts + 1) attempts: "))
                        ))
                }
            }
            outcome =
                changes.allSatisfy { if case .retry = $0.change { true } else { false } }
                ? "retry" : "failed"
        case .deadLetter:
            changes = ids.map { ($0, .failed(DeadLetterReason(failure))) }
            outcome = "failed"
        case .bisect:
            outcome = "split"
        case .pause:
            outcome = "paused"
        }
        record(attempt: attempt(failure.httpStatus, responseText, outcome), changes: changes)

        let nextRetry = changes.compactMap { change -> Int64? in
            if case .retry(let at, _) = change.change { return at }
            return nil
        }.min()
        observer(
            .attemptFailed(
                destination: "capi", dataset: dataset, eventIDs: items.map(\.conversion.eventID),
                status: failure.httpStatus, code: failure.graphCode,
                subcode: failure.graphSubcode, message: failure.message,
                nextRetryMillis: nextRetry, failureClass: failure.failureClass))
        for (item, change) in zip(items, changes) {
            if case .failed(let reason) = change.change {
                observer(
                    .deadLettered(
                        eventID: item.conversion.eventID, destination: "capi",
                        reason: reason.summary))
            }
        }
        logger.warning(
            "batch delivery failed",
            [
                ("dataset", dataset), ("events", "\(items.count)"),
                ("status", failure.httpStatus.map(String.init) ?? "none"),
                ("code", failure.graphCode.map(String.init) ?? "none"),
                ("class", failure.failureClass.rawValue), ("action", outcome),
                ("retry_in_ms", nextRetry.map { "\($0 - finished)" } ?? "none"),
            ])

        switch plan {
        case .bisect:
            // One invalid event rejects Meta's whole batch: each half goes on its own, until
            // the halves that still fail are single events, which then become dead letters.
            observer(
                .bisected(
                    destination: "capi", dataset: dataset, eventCount: items.count,
                    message: failure.message))
            let middle = items.count / 2
            send(
                Array(items[..<middle]), dataset: dataset, testEventCode: testEventCode,
                to: destination)
            send(
                Array(items[middle...]), dataset: dataset, testEventCode: testEventCode,
                to: destination)
        case .pause:
            let firstToPause = lock.withLock {
                defer { pause = failure }
                return pause == nil
            }
            if firstToPause {
                observer(
                    .paused(destination: "capi", reason: failure.summary, code: failure.graphCode))
                logger.error(
                    "delivery paused: access token refused",
                    [
                        ("destination", "capi"),
                        ("fix", "put a valid token where capi.access_token says, then SIGHUP"),
                        ("code", failure.graphCode.map(String.init) ?? "none"),
                        ("subcode", failure.graphSubcode.map(String.init) ?? "none"),
                    ])
            }
        case .retry, .deadLetter:
            break
        }
    }

    private func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)]
    ) {
        held.record(attempt: attempt, changes: changes)
    }
}

extension DeadLetterReason {
    /// The dead letter for a failure: its reason code, Graph's numbers and message.
    /// - Parameters:
    ///   - code: overrides the failure's own code (`attempts_exhausted`).
    ///   - prefix: put before the message.
    public init(_ failure: DeliveryFailure, code: String? = nil, prefix: String = "") {
        self.init(
            code: code ?? failure.reasonCode, graphCode: failure.graphCode,
            graphSubcode: failure.graphSubcode, httpStatus: failure.httpStatus,
            message: prefix + failure.message)
    }
}

extension Array {
    /// Splits into the elements that satisfy the predicate and those that do not, keeping order.
    func partitioned(by belongsInFirst: (Element) -> Bool) -> ([Element], [Element]) {
        var first: [Element] = []
        var second: [Element] = []
        for element in self {
            if belongsInFirst(element) { first.append(element) } else { second.append(element) }
        }
        return (first, second)
    }
}

/// `events_received` and `fbtrace_id` from a Graph success body, when present.
struct GraphResponseSummary {
    var eventsReceived: Int?
    var fbtraceID: String?

    init(_ body: [UInt8]) {
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        eventsReceived = (object?["events_received"] as? NSNumber)?.intValue
        fbtraceID = object?["fbtrace_id"] as? String
    }
}
