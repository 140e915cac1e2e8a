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

    public static let metaMaxBatchSize = 1000
    /// Meta refuses events older than 7 days.
    public static let maxEventAgeSeconds: Int64 = 7 * 24 * 3600

    public init(
        graphURL: String, apiVersion: String, accessToken: String, appSecret: String? = nil,
        testEventCode: String? = nil, partnerAgent: String? = nil, maxBatchSize: Int = 1000,
        flushIntervalSeconds: Double = 1, requestTimeoutSeconds: Double = 1.5,
        retry: RetryPolicy = RetryPolicy()
    ) {
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
public final class CAPIDispatcher: @unchecked Sendable {
    private let journal: any Journal
    private let destination: CAPIDestination
    private let transport: any OutboundHTTP
    private let clock: DeliveryClock
    private let logger: Logger
    private let observer: DeliveryObserver
    private var worker: DeliveryWorker!

    public init(
        journal: any Journal, destination: CAPIDestination, transport: any OutboundHTTP,
        clock: DeliveryClock = .system, logger: Logger = .silent,
        observer: @escaping DeliveryObserver = { _ in }
    ) {
        self.observer = observer
        self.journal = journal
        self.destination = destination
        self.transport = transport
        self.clock = clock
        self.logger = logger
        worker = DeliveryWorker(
            name: "capi-dispatcher", intervalSeconds: destination.flushIntervalSeconds
        ) { [unowned self] in
            self.deliverDue()
        }
    }

    public func start() { worker.start() }

    /// Delivers now instead of at the next tick.
    public func wake() { worker.wake() }

    /// Stops after the batch in flight, which is recorded before this returns.
    public func stop() { worker.stop() }

    /// One pass: everything due now, in batches. Returns true when a full batch was sent, as
    /// more may be waiting.
    @discardableResult
    public func deliverDue() -> Bool {
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

        var sentFullBatch = false
        for group in order {
            let items = byGroup[group] ?? []
            for start in stride(from: 0, to: items.count, by: destination.maxBatchSize) {
                let chunk = Array(items[start..<min(start + destination.maxBatchSize, items.count)])
                deliver(chunk, dataset: group.dataset, testEventCode: group.testEventCode)
                sentFullBatch = sentFullBatch || chunk.count == destination.maxBatchSize
            }
        }
        return sentFullBatch || pending.count == destination.maxBatchSize * 4
    }

    private func deliver(_ items: [PendingConversion], dataset: String, testEventCode: String?) {
        let now = clock.nowMillis()

        // An event past Meta's age limit would sink the whole batch: it leaves the queue as
        // expired, with the reason, and is never sent.
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

        guard let url = destination.eventsURL(dataset: dataset) else {
            logger.error("invalid graph url", [("dataset", dataset)])
            return
        }
        let body = CAPIEventEncoder.batch(
            fresh.map(\.conversion), testEventCode: testEventCode,
            partnerAgent: destination.partnerAgent
        ).serialized()

        let started = clock.nowMillis()
        let result = transport.post(
            url: url, headers: ["Content-Type": "application/json"], body: body,
            timeoutSeconds: destination.requestTimeoutSeconds)
        let finished = clock.nowMillis()
        let ids = fresh.map(\.conversionID)

        switch result {
        case .success(let response) where (200..<300).contains(response.status):
            let text = String(decoding: response.body, as: UTF8.self)
            record(
                attempt: DeliveryAttempt(
                    destination: .capi, dataset: dataset, startedAtMillis: started,
                    finishedAtMillis: finished, httpStatus: response.status, response: text,
                    outcome: "sent", conversionIDs: ids,
                    request: String(decoding: body, as: UTF8.self)),
                changes: ids.map { (conversionID: $0, change: .sent) })
            let answer = GraphResponseSummary(response.body)
            observer(
                .sent(
                    destination: "capi", dataset: dataset,
                    eventIDs: fresh.map(\.conversion.eventID),
                    status: response.status, eventsReceived: answer.eventsReceived,
                    fbtraceID: answer.fbtraceID))
            logger.info(
                "batch delivered",
                [
                    ("dataset", dataset), ("events", "\(ids.count)"),
                    ("status", "\(response.status)"),
                ])

        case .success(let response):
            let graphError = GraphError.parse(response.body)
            let reason = graphError?.summary ?? "http status \(response.status)"
            let errorClass = GraphError.classify(status: response.status, error: graphError)
            let retryAfter = RetryPolicy.retryAfterSeconds(response.headers["retry-after"])
            fail(
                fresh, dataset: dataset, errorClass: errorClass, reason: reason,
                retryAfter: retryAfter, started: started, finished: finished,
                status: response.status,
                response: String(decoding: response.body, as: UTF8.self),
                request: String(decoding: body, as: UTF8.self), graphError: graphError)

        case .failure(let failure):
            fail(
                fresh, dataset: dataset, errorClass: .transient, reason: failure.message,
                retryAfter: nil, started: started, finished: finished, status: nil,
                response: failure.message, request: String(decoding: body, as: UTF8.self))
        }
    }

    private func fail(
        _ items: [PendingConversion], dataset: String, errorClass: GraphError.Class,
        reason: String, retryAfter: Double?, started: Int64, finished: Int64, status: Int?,
        response: String, request: String, graphError: GraphError? = nil
    ) {
        var changes: [(conversionID: Int64, change: DeliveryStateChange)] = []
        var retrying = 0
        for item in items {
            let attempts = item.attempts + 1
            if errorClass == .transient && attempts < destination.retry.maxAttempts {
                let delay = destination.retry.delay(
                    afterAttempts: attempts, retryAfter: retryAfter, unit: clock.jitterUnit())
                changes.append(
                    (
                        item.conversionID,
                        .retry(atMillis: finished + Int64(delay * 1000), reason: reason)
                    ))
                retrying += 1
            } else {
                let why =
                    errorClass == .transient
                    ? "gave up after \(attempts) attempts: \(reason)" : reason
                changes.append((item.conversionID, .failed(reason: why)))
            }
        }
        let outcome = retrying == items.count ? "retry" : "failed"
        record(
            attempt: DeliveryAttempt(
                destination: .capi, dataset: dataset, startedAtMillis: started,
                finishedAtMillis: finished, httpStatus: status, response: response,
                outcome: outcome, conversionIDs: items.map(\.conversionID), request: request),
            changes: changes)

        let nextRetry = changes.compactMap { change -> Int64? in
            if case .retry(let at, _) = change.change { return at }
            return nil
        }.min()
        observer(
            .attemptFailed(
                destination: "capi", dataset: dataset, eventIDs: items.map(\.conversion.eventID),
                status: status, code: graphError?.code, subcode: graphError?.subcode,
                message: reason, nextRetryMillis: nextRetry))
        for (item, change) in zip(items, changes) {
            if case .failed(let why) = change.change {
                observer(
                    .deadLettered(
                        eventID: item.conversion.eventID, destination: "capi", reason: why))
            }
        }
        logger.warning(
            "batch delivery failed",
            [
                ("dataset", dataset), ("events", "\(items.count)"),
                ("status", status.map(String.init) ?? "none"), ("class", errorClass.rawValue),
                ("reason", reason),
            ])
    }

    private func record(
        attempt: DeliveryAttempt?, changes: [(conversionID: Int64, change: DeliveryStateChange)]
    ) {
        do {
            try journal.record(attempt: attempt, changes: changes, destination: .capi)
        } catch {
            // The events stay pending and are sent again on the next pass; that is the one
            // way a journal failure can cause a repeat, and it is logged as an error.
            logger.error(
                "cannot record delivery", [("destination", "capi"), ("error", "\(error)")])
        }
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
