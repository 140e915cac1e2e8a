import Foundation
import RelayCore
import RelayDelivery
import RelayFeed
import RelayHTTP
import RelayIngest
import RelayJournal

/// A running relay: the HTTP front door, the journal, and one delivery worker per destination.
public final class Relay: @unchecked Sendable {
    /// The configuration the relay started with; `reload` changes what it can of it live.
    public let configuration: RelayConfiguration
    public let journal: any Journal
    /// Guarded by `stateLock`; replaced by a reload. Read it through `liveSettings`.
    private var secrets: RelaySecrets
    /// Guarded by `stateLock`; rebuilt by a reload that brings new rules. Read it through
    /// `mapper`, once per delivery, so that every item of one webhook meets the same rules.
    private var liveMapper: ConversionMapper
    let consentPolicy: ConsentPolicy
    /// The one normalizer of every ingest path, so that a value hashes the same whichever way
    /// it arrives (external_id included, as the config says).
    let normalizer: Normalizer
    /// Finds identifiers typed into chats; nil when the config turns it off.
    let capture: IdentifierCapture?
    let logger: Logger
    private let dispatcher: CAPIDispatcher
    private let crmSink: CRMSink?
    private var server: HTTPServer!
    /// The live feed: every stage of the pipeline, for the console and other tails.
    public let feed: FeedHub
    let health = DestinationHealth()
    /// What `/metrics` shows; fed by intake and by the delivery workers.
    let metrics: RelayMetrics
    private var feedProvider: RelayFeedProvider!
    private var feedServer: FeedServer!
    let rejections = RejectionCounter()
    /// Guarded by `stateLock`.
    var draining = false
    /// Guarded by `stateLock`: deliveries handed to the journal and not answered yet. A stop
    /// waits for them, so that a delivery it journals also gets its answer.
    private var unanswered = 0
    /// Guarded by `stateLock`: the configuration in force, the start one until a reload.
    private var liveConfiguration: RelayConfiguration
    let stateLock = NSLock()

    /// Opens the journal and builds every part; nothing listens until `start()`.
    /// - Throws: `ConfigErrors` for rules that cannot compile, `JournalError` for the journal.
    /// - Parameter transport: one transport for both destinations, for tests; by default each
    ///   destination gets its own URLSession, so that a CRM holding connections open can never
    ///   take the ones CAPI needs.
    public init(
        configuration: RelayConfiguration, secrets: RelaySecrets, logger: Logger,
        transport: (any OutboundHTTP)? = nil, clock: DeliveryClock = .system,
        listenOverride: ListenAddress? = nil
    ) throws {
        self.configuration = configuration
        self.liveConfiguration = configuration
        self.secrets = secrets
        self.logger = logger
        do {
            liveMapper = try ConversionMapper(
                rules: configuration.rules, datasets: configuration.datasets)
        } catch {
            throw ConfigErrors(file: nil, errors: [ConfigError(path: "rules", message: "\(error)")])
        }

        let consent = configuration.consent
        do {
            consentPolicy = ConsentPolicy(
                grant: try consent.grant.map { try SignalMatcher($0) },
                revoke: try consent.revoke.map { try SignalMatcher($0) },
                requiredFor: Set(consent.requiredFor), withoutConsent: consent.withoutConsent)
        } catch {
            throw ConfigErrors(
                file: nil, errors: [ConfigError(path: "consent", message: "\(error)")])
        }
        normalizer = Normalizer(
            defaultCountry: consent.defaultCountry, hashesExternalID: consent.hashExternalID)
        capture = consent.captureFromChat ? IdentifierCapture(normalizer: normalizer) : nil

        journal = try configuration.openJournal(
            configuration: configuration.journalConfiguration(consent: consentPolicy))

        feed = FeedHub(
            historyLimit: configuration.feed.history, queueLimit: configuration.feed.clientQueue)
        let metrics = RelayMetrics(labels: MetricLabels(configuration))
        self.metrics = metrics
        let observer: DeliveryObserver = { [feed, health] event in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            metrics.record(event, atMillis: now)
            Relay.publish(event, to: feed)
            for (stage, fields) in health.observe(event, atMillis: now) {
                feed.publish(stage, fields)
            }
        }

        dispatcher = CAPIDispatcher(
            journal: journal,
            destination: Relay.capiDestination(configuration, secrets),
            transport: transport ?? URLSessionTransport(), clock: clock, logger: logger,
            observer: observer)

        if let crm = Relay.crmDestination(configuration, secrets) {
            crmSink = CRMSink(
                journal: journal, destination: crm, transport: transport ?? URLSessionTransport(),
                clock: clock, logger: logger, observer: observer)
        } else {
            crmSink = nil
        }

        let listen =
            listenOverride ?? ListenAddress(configuration.listen)
            ?? ListenAddress("127.0.0.1:8080")!
        let limits = configuration.http
        server = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: listen.host, port: listen.port, maxHeaderBytes: limits.maxHeaderBytes,
                maxBodyBytes: limits.maxBodyBytes, headerReadTimeout: limits.headerTimeoutSeconds,
                bodyReadTimeout: limits.bodyTimeoutSeconds, maxConnections: limits.maxConnections)
        ) { [unowned self] request, responder in
            self.route(request, responder)
        }

        feedProvider = RelayFeedProvider(
            configuration: { [unowned self] in self.liveSettings.configuration },
            journal: journal, health: health, hub: feed, logger: logger
        ) { [unowned self] in
            self.flush()
        }
        feedServer = FeedServer(
            path: configuration.feedSocketPath, hub: feed,
            policy: FeedAccessPolicy(
                allowedGroups: configuration.feed.allowedGroups + configuration.feed.operatorGroups),
            provider: feedProvider, logger: logger,
            socketGroup: (configuration.feed.operatorGroups + configuration.feed.allowedGroups)
                .first)
    }

    /// Starts listening and delivering. Pending work from an earlier run is picked up at once.
    public func start() throws {
        try feedServer.start()
        do {
            try server.start()
        } catch {
            feedServer.stop()
            throw error
        }
        // In shadow mode conversions are journaled as `shadow`, which the dispatcher never
        // picks up; not starting it makes sure that nothing is even tried.
        if configuration.isShadow {
            logger.notice("shadow mode: conversions are journaled, nothing is sent to meta")
        } else {
            dispatcher.start()
        }
        crmSink?.start()
        logger.notice(
            "relay listening",
            [
                ("address", "\(configuration.listen.split(separator: ":").first ?? ""):\(port)"),
                ("journal", configuration.journalLocation.description),
                ("node", configuration.nodeName), ("feed", feedServer.path),
            ])
    }

    /// The port the HTTP server is bound to.
    public var port: UInt16 { server.boundPort }

    /// Events an operator queued again from the feed since the relay started.
    public var resendCount: Int { feedProvider.resends.count }

    /// The feed's Unix socket path.
    public var feedPath: String { feedServer.path }

    /// Stops intake first (new webhooks get 503, so Meta redelivers them), waits for the
    /// deliveries already with the journal to be answered, then lets the delivery workers
    /// finish the batches in flight, each wait for at most `shutdown.deadline_seconds`, then
    /// closes the journal. A batch still on the wire at the deadline stays pending and is
    /// sent again after the restart, with the same event_id.
    public func stop() {
        // Intake stops first, but the listener stays open while the batches finish: a webhook
        // arriving meanwhile gets a 503, which Meta redelivers, rather than a refused
        // connection that says nothing.
        stateLock.withLock { draining = true }

        // Deliveries already with the journal commit and are answered before the connections
        // close: journaled but unanswered, Meta would redeliver what the relay holds.
        let deadline = liveSettings.configuration.shutdown.deadlineSeconds
        let answeredBy = Date().addingTimeInterval(deadline)
        while stateLock.withLock({ unanswered }) > 0 && Date() < answeredBy {
            Thread.sleep(forTimeInterval: 0.005)
        }
        let left = stateLock.withLock { unanswered }
        if left > 0 {
            logger.warning(
                "deliveries still with the journal at the shutdown deadline; their senders"
                    + " redeliver", [("deliveries", "\(left)")])
        }

        // Both destinations wind down at once, within one deadline, each waited for on a
        // thread of its own: blocked on the shared dispatch pool, the waits would hold the
        // threads the answers to the batches they wait for are delivered on.
        let group = DispatchGroup()
        let finished = FinishedFlags()
        group.enter()
        Thread.detachNewThread { [dispatcher] in
            finished.set("capi", dispatcher.stop(deadlineSeconds: deadline))
            group.leave()
        }
        if let crmSink {
            group.enter()
            Thread.detachNewThread {
                finished.set("crm", crmSink.stop(deadlineSeconds: deadline))
                group.leave()
            }
        }
        group.wait()
        for name in finished.unfinished {
            logger.warning(
                "in-flight delivery not finished by the shutdown deadline; it is sent again"
                    + " after restart",
                [("destination", name), ("deadline_seconds", "\(deadline)")])
        }

        server.stopAccepting()
        server.stop()
        feedServer.stop()
        journal.close()
        logger.notice("relay stopped")
    }

    /// The answer to a webhook while the relay drains: Meta redelivers it, and the connection
    /// closes so that a keep-alive client does not keep sending here.
    static var shuttingDown: HTTPResponse {
        var response = HTTPResponse.text(503, "shutting down; redeliver later")
        response.closesConnection = true
        return response
    }

    /// Counts a delivery as with the journal until `answered()`, unless the relay is draining;
    /// checked and counted under one lock, so that once a stop has seen none left, none more
    /// is admitted.
    func admitToJournal() -> Bool {
        stateLock.withLock {
            guard !draining else { return false }
            unanswered += 1
            return true
        }
    }

    /// A delivery `admitToJournal()` let through has had its answer.
    func answered() {
        stateLock.withLock { unanswered -= 1 }
    }

    // MARK: Reload

    /// The configuration and secrets in force.
    var liveSettings: (configuration: RelayConfiguration, secrets: RelaySecrets) {
        stateLock.withLock { (liveConfiguration, secrets) }
    }

    /// The rules in force.
    var mapper: ConversionMapper { stateLock.withLock { liveMapper } }

    /// Applies a new configuration and secrets to the running relay, as SIGHUP does: the
    /// secrets (app secret, verify token, access token, CRM secret) and the destinations'
    /// settings take effect at once, and a destination paused for refused credentials
    /// resumes. Keys that only a restart can change are named in the result and keep their
    /// running values.
    ///
    /// - Returns: what changed and what was left for a restart.
    @discardableResult
    public func reload(configuration next: RelayConfiguration, secrets nextSecrets: RelaySecrets)
        -> ReloadResult
    {
        let (current, currentSecrets) = liveSettings
        var result = ReloadResult.compare(
            current, next, secretsChanged: !currentSecrets.sameValues(as: nextSecrets))

        // The CRM can be retuned but not added or removed: its queue state is decided when a
        // conversion is journaled.
        var applied = next
        if (current.crm == nil) != (next.crm == nil) {
            result.needsRestart.append("crm")
            applied.crm = current.crm
        }
        for key in result.needsRestart where key != "crm" {
            applied.restore(key, from: current)
        }

        // New rules and pages compile into a mapper before anything is swapped; the config
        // check has compiled the rules once already, so a failure here is unexpected, and it
        // keeps the old ones.
        var nextMapper: ConversionMapper?
        if applied.rules != current.rules || applied.pages != current.pages {
            do {
                nextMapper = try ConversionMapper(rules: applied.rules, datasets: applied.datasets)
            } catch {
                logger.error("rules not reloaded; the running rules stay", [("error", "\(error)")])
                applied.rules = current.rules
                applied.pages = current.pages
                result.changed.removeAll { $0 == "rules" || $0 == "pages" }
            }
        }
        stateLock.withLock {
            liveConfiguration = applied
            secrets = nextSecrets
            if let nextMapper { liveMapper = nextMapper }
        }
        metrics.labelPolicy = MetricLabels(applied)
        metrics.reloads.increment(["applied"])

        dispatcher.update(Relay.capiDestination(applied, nextSecrets))
        if let crmSink, let crm = Relay.crmDestination(applied, nextSecrets) {
            crmSink.update(crm)
        }
        // A change that waits for a restart is worth an operator's attention: until then the
        // relay runs on the old value. Each key gets a line of its own to grep and alert on.
        for key in result.needsRestart {
            logger.warning(
                "setting changed but needs a restart to take effect; the running value stays",
                [("key", key)])
        }
        let log = result.needsRestart.isEmpty ? logger.notice : logger.warning
        log(
            "config reloaded",
            [
                (
                    "changed",
                    result.changed.isEmpty ? "none" : result.changed.joined(separator: ",")
                ),
                (
                    "needs_restart",
                    result.needsRestart.isEmpty
                        ? "none" : result.needsRestart.joined(separator: ",")
                ),
            ])
        return result
    }

    /// The CAPI destination a configuration and its secrets describe.
    static func capiDestination(
        _ configuration: RelayConfiguration, _ secrets: RelaySecrets
    ) -> CAPIDestination {
        let capi = configuration.capi
        return CAPIDestination(
            graphURL: capi.graphURL, apiVersion: capi.apiVersion,
            accessToken: secrets.accessToken,
            appSecret: capi.appsecretProof ? secrets.appSecret : nil,
            testEventCode: capi.testEventCode, partnerAgent: capi.partnerAgent,
            maxBatchSize: capi.batchSize, flushIntervalSeconds: capi.flushIntervalSeconds,
            requestTimeoutSeconds: capi.timeoutSeconds,
            retry: RetryPolicy(
                baseSeconds: capi.backoffBaseSeconds, maxSeconds: capi.backoffMaxSeconds,
                maxAttempts: capi.maxAttempts),
            concurrency: capi.concurrency, requestsPerSecond: capi.requestsPerSecond)
    }

    /// The CRM destination, or nil when the configuration has none.
    static func crmDestination(
        _ configuration: RelayConfiguration, _ secrets: RelaySecrets
    ) -> CRMDestination? {
        guard let crm = configuration.crm, let secret = secrets.crmSecret else { return nil }
        return CRMDestination(
            url: crm.url, secret: secret, flushIntervalSeconds: crm.flushIntervalSeconds,
            requestTimeoutSeconds: crm.timeoutSeconds,
            retry: RetryPolicy(
                baseSeconds: crm.backoffBaseSeconds, maxSeconds: crm.backoffMaxSeconds,
                maxAttempts: crm.maxAttempts),
            concurrency: crm.concurrency, requestsPerSecond: crm.requestsPerSecond)
    }

    /// Runs delivery passes now, for callers that want results sooner than the next tick.
    public func flush() {
        dispatcher.wake()
        crmSink?.wake()
    }

    /// The header `capi-relay replay --test-event-code` sets on the webhooks it posts. Honoured
    /// only with `qa.accept_test_event_code`, and only on a correctly signed webhook.
    public static let testEventCodeHeader = "X-Capi-Relay-Test-Event-Code"

    /// Events Manager's codes are short runs of letters and digits (`TEST12345`).
    static func isValidTestEventCode(_ code: String) -> Bool {
        (1...64).contains(code.count)
            && code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// Webhooks refused before they reached the journal, by reason.
    public var rejectionCounts: [String: Int] { rejections.snapshot }

    // MARK: Routes

    private func route(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let responder = measured(responder, request)
        if let response = Relay.methodNotAllowed(request) {
            responder.respond(response)
            return
        }
        switch (request.method, request.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            // Alive, whatever else is wrong: readiness is /readyz's question.
            responder.respond(.text(200, "ok"))
        case ("GET", "/readyz"), ("HEAD", "/readyz"):
            answerReadiness(responder)
        case ("GET", "/metrics"):
            answerMetrics(responder)
        case ("GET", "/webhooks/messenger"):
            verifySubscription(request, responder)
        case ("POST", "/webhooks/messenger"):
            receiveMessenger(request, responder)
        case ("POST", "/v1/events"):
            receiveServerEvents(request, responder)
        case ("POST", "/v1/event-ids"):
            mintEventID(request, responder)
        case ("POST", "/webhooks/crm"):
            receiveCRMEcho(request, responder)
        case ("POST", "/v1/pixel-echo"), ("OPTIONS", "/v1/pixel-echo"):
            receivePixelEcho(request, responder)
        case ("POST", _) where CAPIIngestPath(request.path) != nil:
            receiveCAPIEvents(request, responder, path: CAPIIngestPath(request.path)!)
        default:
            responder.respond(.text(404, "no route for \(request.method) \(request.path)"))
        }
    }

    func reject(_ code: String, reason: String, request: HTTPRequest) {
        rejections.count(code)
        metrics.rejected.increment([code])
        logger.warning(
            "webhook rejected",
            [("code", code), ("reason", reason), ("remote", request.remoteAddress)])
    }
}

/// Which workers finished before the shutdown deadline; thread-safe.
final class FinishedFlags: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var flags: [String: Bool] = [:]

    func set(_ name: String, _ finished: Bool) { lock.withLock { flags[name] = finished } }
    var unfinished: [String] { lock.withLock { flags.filter { !$0.value }.keys.sorted() } }
}

/// Counts rejections by reason code; thread-safe.
final class RejectionCounter: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var counts: [String: Int] = [:]

    func count(_ code: String) {
        lock.withLock { counts[code, default: 0] += 1 }
    }

    var snapshot: [String: Int] {
        lock.withLock { counts }
    }
}
