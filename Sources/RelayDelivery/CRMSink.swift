import Foundation
import RelayCore
import RelayJournal

/// Where the relay posts each conversion for the CRM.
public struct CRMDestination: Sendable {
    /// The CRM's webhook URL.
    public var url: String
    /// Keys the `X-Capi-Relay-Signature-256` header, so the CRM can tell the relay's posts
    /// from forgeries.
    public var secret: String
    public var flushIntervalSeconds: Double
    /// Seconds.
    public var requestTimeoutSeconds: Double
    public var retry: RetryPolicy
    /// Posts in flight at once; one conversion is one request, so a single connection would
    /// cap the CRM well below CAPI's batched rate.
    public var concurrency: Int
    /// Posts per second at most, on average; nil for no limit.
    public var requestsPerSecond: Double?

    /// The signature header's name; its value is `sha256=` and the lowercase hex HMAC-SHA256
    /// of the raw body, the same scheme Meta uses for its webhooks.
    public static let signatureHeader = "X-Capi-Relay-Signature-256"

    public init(
        url: String, secret: String, flushIntervalSeconds: Double = 1,
        requestTimeoutSeconds: Double = 5, retry: RetryPolicy = RetryPolicy(), concurrency: Int = 4,
        requestsPerSecond: Double? = nil
    ) {
        self.concurrency = max(concurrency, 1)
        self.requestsPerSecond = requestsPerSecond
        self.url = url
        self.secret = secret
        self.flushIntervalSeconds = flushIntervalSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.retry = retry
    }
}

/// Posts each conversion to the CRM as signed JSON, on its own queue and thread, so that a CRM
/// outage never holds up delivery to CAPI.
///
/// Failures are treated as at CAPI: 5xx, 408, 429 and transport errors wait their backoff
/// (Retry-After honoured), a 401 (the CRM refuses the signature) pauses the sink until a
/// reload brings a new secret, and any other 4xx makes a dead letter.
public final class CRMSink: @unchecked Sendable {
    private let journal: any Journal
    private let transport: any OutboundHTTP
    private let clock: DeliveryClock
    private let logger: Logger
    private let observer: DeliveryObserver
    private var worker: DeliveryWorker!
    private let limiter: RateLimiter
    /// Outcomes the journal refused; while there are any, nothing is posted.
    private let held: HeldOutcomes
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var currentDestination: CRMDestination
    /// Guarded by `lock`.
    private var pause: DeliveryFailure?
    /// Guarded by `lock`.
    private var stopping = false

    /// How many conversions one pass takes; the rest wait for the next pass.
    static let passLimit = 200

    public init(
        journal: any Journal, destination: CRMDestination, transport: any OutboundHTTP,
        clock: DeliveryClock = .system, logger: Logger = .silent,
        observer: @escaping DeliveryObserver = { _ in }
    ) {
        self.observer = observer
        self.journal = journal
        self.currentDestination = destination
        self.transport = transport
        self.clock = clock
        self.logger = logger
        self.held = HeldOutcomes(destination: .crm, journal: journal, logger: logger)
        limiter = RateLimiter(requestsPerSecond: destination.requestsPerSecond)
        worker = DeliveryWorker(
            name: "crm-sink", intervalSeconds: destination.flushIntervalSeconds
        ) { [unowned self] in
            self.deliverDue()
        }
    }

    public func start() { worker.start() }
    public func wake() { worker.wake() }

    /// Stops after the posts in flight; see `CAPIDispatcher.stop(deadlineSeconds:)`.
    @discardableResult
    public func stop(deadlineSeconds: Double? = nil) -> Bool {
        lock.withLock { stopping = true }
        limiter.cancel()
        return worker.stop(deadlineSeconds: deadlineSeconds)
    }

    public var destination: CRMDestination { lock.withLock { currentDestination } }

    /// Why posting is paused, or nil while it runs.
    public var pausedBecause: DeliveryFailure? { lock.withLock { pause } }

    /// Takes new settings (a config reload) and resumes a paused sink.
    public func update(_ destination: CRMDestination) {
        let wasPaused = lock.withLock {
            currentDestination = destination
            defer { pause = nil }
            return pause != nil
        }
        limiter.update(requestsPerSecond: destination.requestsPerSecond)
        if wasPaused {
            observer(.resumed(destination: "crm"))
            logger.notice("delivery resumed", [("destination", "crm")])
        }
        worker.wake()
    }

    private var mayStartRequest: Bool {
        lock.withLock { pause == nil && !stopping } && held.isEmpty
    }

    /// One pass; returns true when more may be due at once.
    @discardableResult
    public func deliverDue() -> Bool {
        guard held.recordHeld(), mayStartRequest else { return false }
        let destination = self.destination
        let pending: [PendingConversion]
        let claimedAt = clock.nowMillis()
        do {
            pending = try journal.due(for: .crm, nowMillis: claimedAt, limit: CRMSink.passLimit)
        } catch {
            logger.error("journal read failed", [("destination", "crm"), ("error", "\(error)")])
            return false
        }
        guard !pending.isEmpty else { return false }
        guard let url = URL(string: destination.url) else {
            logger.error("invalid crm url")
            return false
        }
        let lanes = min(destination.concurrency, pending.count)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: pending.count, by: lanes) {
                guard mayStartRequest, limiter.acquire() else { return }
                // A lane posts one at a time: on a shared journal the last posts of a pass
                // could start after their claim lapsed. What is left is claimed again next pass.
                guard
                    journal.claimHolds(
                        since: claimedAt, now: clock.nowMillis(),
                        forRequestOf: destination.requestTimeoutSeconds)
                else { return }
                deliver(pending[index], to: url, destination: destination)
            }
        }
        return mayStartRequest && pending.count == CRMSink.passLimit
    }

    private func deliver(_ item: PendingConversion, to url: URL, destination: CRMDestination) {
        let body = CAPIEventEncoder.crmPayload(item.conversion).serialized()
        let signature =
            "sha256=" + Crypto.hmacSHA256Hex(key: Array(destination.secret.utf8), message: body)
        let started = clock.nowMillis()
        let result = transport.post(
            url: url,
            headers: [
                "Content-Type": "application/json", CRMDestination.signatureHeader: signature,
            ],
            body: body, timeoutSeconds: destination.requestTimeoutSeconds)
        let finished = clock.nowMillis()

        var change: DeliveryStateChange?
        let failure: DeliveryFailure?
        let response: String
        switch result {
        case .success(let answer) where (200..<300).contains(answer.status):
            change = .sent
            failure = nil
            response = String(decoding: answer.body, as: UTF8.self)
        case .success(let answer):
            failure = DeliveryFailure.crm(
                status: answer.status, retryAfter: answer.headers["retry-after"])
            response = String(decoding: answer.body, as: UTF8.self)
        case .failure(let transportFailure):
            failure = DeliveryFailure.transport(transportFailure)
            response = transportFailure.message
        }

        var outcome = "sent"
        if let failure {
            switch FailurePlan.plan(for: failure, batchSize: 1) {
            case .retry:
                let step = destination.retry.step(
                    afterAttempts: item.attempts + 1, retryAfter: failure.retryAfterSeconds,
                    nowMillis: finished, unit: clock.jitterUnit())
                switch step {
                case .retry(let at):
                    change = .retry(atMillis: at, reason: failure.summary)
                    outcome = "retry"
                case .giveUp:
                    change = .failed(
                        DeadLetterReason(
                            failure, code: DeadLetterReason.attemptsExhaustedCode,
                            prefix: "gave up after \(item.attempts + 1) attempts: "))
                    outcome = "failed"
                }
            case .deadLetter, .bisect:
                change = .failed(DeadLetterReason(failure))
                outcome = "failed"
            case .pause:
                change = nil
                outcome = "paused"
            }
        }

        held.record(
            attempt: DeliveryAttempt(
                destination: .crm, dataset: item.conversion.dataset, startedAtMillis: started,
                finishedAtMillis: finished, httpStatus: failure?.httpStatus ?? 200,
                response: response, outcome: outcome, conversionIDs: [item.conversionID],
                request: String(decoding: body, as: UTF8.self)),
            changes: change.map { [(item.conversionID, $0)] } ?? [])

        let eventID = item.conversion.eventID
        let dataset = item.conversion.dataset
        guard let failure else {
            observer(
                .sent(
                    destination: "crm", dataset: dataset, eventIDs: [eventID], status: 200,
                    eventsReceived: nil, fbtraceID: nil))
            logger.debug("crm post delivered", [("event_id", eventID)])
            return
        }
        var nextRetry: Int64?
        if case .retry(let at, _)? = change { nextRetry = at }
        observer(
            .attemptFailed(
                destination: "crm", dataset: dataset, eventIDs: [eventID],
                status: failure.httpStatus, code: nil, subcode: nil, message: failure.message,
                nextRetryMillis: nextRetry, failureClass: failure.failureClass))
        if case .failed(let reason)? = change {
            observer(.deadLettered(eventID: eventID, destination: "crm", reason: reason.summary))
        }
        logger.warning(
            "crm delivery failed",
            [
                ("event_id", eventID), ("status", failure.httpStatus.map(String.init) ?? "none"),
                ("class", failure.failureClass.rawValue), ("action", outcome),
            ])
        if outcome == "paused" {
            let firstToPause = lock.withLock {
                defer { pause = failure }
                return pause == nil
            }
            if firstToPause {
                observer(.paused(destination: "crm", reason: failure.summary, code: nil))
                logger.error(
                    "delivery paused: the crm refuses the signature; fix crm.secret and reload"
                        + " the config with SIGHUP",
                    [("destination", "crm"), ("status", "\(failure.httpStatus ?? 0)")])
            }
        }
    }
}
