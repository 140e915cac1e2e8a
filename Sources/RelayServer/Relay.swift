import Foundation
import RelayCore
import RelayDelivery
import RelayHTTP
import RelayIngest
import RelayJournal

/// A running relay: the HTTP front door, the journal, and one delivery worker per destination.
public final class Relay: @unchecked Sendable {
    public let configuration: RelayConfiguration
    public let journal: SQLiteJournal
    private let secrets: RelaySecrets
    private let mapper: ConversionMapper
    private let logger: Logger
    private let dispatcher: CAPIDispatcher
    private let crmSink: CRMSink?
    private var server: HTTPServer!
    private let rejections = RejectionCounter()
    /// Guarded by `stateLock`.
    private var draining = false
    private let stateLock = NSLock()

    /// Opens the journal and builds every part; nothing listens until `start()`.
    /// - Throws: `ConfigErrors` for rules that cannot compile, `JournalError` for the journal.
    public init(
        configuration: RelayConfiguration, secrets: RelaySecrets, logger: Logger,
        transport: any OutboundHTTP = URLSessionTransport(), clock: DeliveryClock = .system,
        listenOverride: ListenAddress? = nil
    ) throws {
        self.configuration = configuration
        self.secrets = secrets
        self.logger = logger
        do {
            mapper = try ConversionMapper(
                rules: configuration.rules, datasets: configuration.datasets)
        } catch {
            throw ConfigErrors(file: nil, errors: [ConfigError(path: "rules", message: "\(error)")])
        }

        journal = try SQLiteJournal(
            path: configuration.journal,
            configuration: SQLiteJournalConfiguration(
                dedupeWindowSeconds: Int64(configuration.dedupe.windowHours * 3600),
                crmEnabled: configuration.crm != nil))

        let capi = configuration.capi
        dispatcher = CAPIDispatcher(
            journal: journal,
            destination: CAPIDestination(
                graphURL: capi.graphURL, apiVersion: capi.apiVersion,
                accessToken: secrets.accessToken,
                appSecret: capi.appsecretProof ? secrets.appSecret : nil,
                testEventCode: capi.testEventCode, partnerAgent: capi.partnerAgent,
                maxBatchSize: capi.batchSize, flushIntervalSeconds: capi.flushIntervalSeconds,
                requestTimeoutSeconds: capi.timeoutSeconds,
                retry: RetryPolicy(maxAttempts: capi.maxAttempts)),
            transport: transport, clock: clock, logger: logger)

        if let crm = configuration.crm, let crmSecret = secrets.crmSecret {
            crmSink = CRMSink(
                journal: journal,
                destination: CRMDestination(
                    url: crm.url, secret: crmSecret,
                    flushIntervalSeconds: crm.flushIntervalSeconds,
                    requestTimeoutSeconds: crm.timeoutSeconds,
                    retry: RetryPolicy(maxAttempts: crm.maxAttempts)),
                transport: transport, clock: clock, logger: logger)
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
    }

    /// Starts listening and delivering. Pending work from an earlier run is picked up at once.
    public func start() throws {
        try server.start()
        dispatcher.start()
        crmSink?.start()
        logger.notice(
            "relay listening",
            [
                ("address", "\(configuration.listen.split(separator: ":").first ?? ""):\(port)"),
                ("journal", journal.path),
            ])
    }

    /// The port the HTTP server is bound to.
    public var port: UInt16 { server.boundPort }

    /// Stops intake first (new webhooks get 503, so Meta redelivers them), then lets the
    /// delivery workers finish the batch in flight, then closes the journal.
    public func stop() {
        stateLock.withLock { draining = true }
        server.stopAccepting()
        dispatcher.stop()
        crmSink?.stop()
        server.stop()
        journal.close()
        logger.notice("relay stopped")
    }

    /// Runs delivery passes now, for callers that want results sooner than the next tick.
    public func flush() {
        dispatcher.wake()
        crmSink?.wake()
    }

    /// Webhooks refused before they reached the journal, by reason.
    public var rejectionCounts: [String: Int] { rejections.snapshot }

    // MARK: Routes

    private func route(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch (request.method, request.path) {
        case ("GET", "/healthz"), ("HEAD", "/healthz"):
            responder.respond(.text(200, "ok"))
        case ("GET", "/webhooks/messenger"):
            verifySubscription(request, responder)
        case ("POST", "/webhooks/messenger"):
            receiveMessenger(request, responder)
        case (_, "/healthz"), (_, "/webhooks/messenger"):
            var response = HTTPResponse.text(405, "method \(request.method) is not allowed here")
            response.headers.add(
                name: "Allow", value: request.path == "/healthz" ? "GET" : "GET, POST")
            responder.respond(response)
        default:
            responder.respond(.text(404, "no route for \(request.method) \(request.path)"))
        }
    }

    private func verifySubscription(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch MessengerVerification.answer(query: request.query, verifyToken: secrets.verifyToken)
        {
        case .accept(let challenge):
            logger.notice("webhook subscription verified", [("source", "messenger")])
            responder.respond(.text(200, challenge))
        case .reject(let reason):
            reject("verify_token", reason: reason, request: request)
            responder.respond(.text(403, "verification failed"))
        }
    }

    private func receiveMessenger(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard !stateLock.withLock({ draining }) else {
            responder.respond(.text(503, "shutting down; redeliver later"))
            return
        }

        // The signature is checked on the raw bytes before anything reads them.
        let signature = request.headers["X-Hub-Signature-256"]
        let verdict = MessengerSignature.verify(
            header: signature, body: request.body, appSecret: secrets.appSecret)
        guard verdict == .valid else {
            reject(
                "signature_\(verdict.rawValue)", reason: "X-Hub-Signature-256 \(verdict.rawValue)",
                request: request)
            responder.respond(.text(403, "invalid signature"))
            return
        }

        let signals: [InboundSignal]
        do {
            signals = try MessengerWebhook.parse(request.body)
        } catch {
            switch error {
            case .unsupportedObject(let object):
                reject("unsupported_object", reason: "object \(object)", request: request)
                responder.respond(.text(404, "object '\(object)' is not handled; only 'page' is"))
            case .malformed(let detail):
                reject("malformed", reason: detail, request: request)
                responder.respond(.text(400, "malformed webhook: \(detail)"))
            }
            return
        }

        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let delivery = InboundDelivery(
            source: "messenger", receivedAtMillis: receivedAt, body: request.body,
            items: signals.map { InboundItem(signal: $0, outcome: mapper.map($0)) })
        journal.append(delivery) { [logger] result in
            switch result {
            case .success(let receipt):
                logger.debug(
                    "webhook journaled",
                    [("delivery", "\(receipt.deliveryID)"), ("items", "\(receipt.results.count)")])
                responder.respond(.text(200, "EVENT_RECEIVED"))
            case .failure(let error):
                // 503 makes Meta redeliver: nothing of this delivery was stored.
                logger.error("journal append failed", [("error", error.code.rawValue)])
                responder.respond(.text(503, "journal unavailable; redeliver later"))
            }
        }
    }

    private func reject(_ code: String, reason: String, request: HTTPRequest) {
        rejections.count(code)
        logger.warning(
            "webhook rejected",
            [("code", code), ("reason", reason), ("remote", request.remoteAddress)])
    }
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
