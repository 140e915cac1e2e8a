import Foundation
import RelayHTTP

/// The local stand-in for Meta's Graph API (Conversions API) and for a CRM webhook.
///
/// Tests start one in-process on a free loopback port; `capi-relay sandbox` and `demo` run one
/// for staging. Every CAPI request is validated as strictly as Meta validates it (see
/// `CAPIRequestValidator`) and answered in Graph's exact shape; every delivery is recorded,
/// in memory and optionally in a JSON-lines file, before the response is sent.
///
/// Routes: `POST /{version}/{dataset}/events`, `POST {crmPath}`, `GET /healthz` ("ok").
/// Other paths starting with a Graph version get a Graph-style 404 (code 100, subcode 33);
/// anything else gets a plain-text 404.
///
/// `@unchecked Sendable`: `server` and `recorder` are guarded by `lock`; the rest is immutable.
public final class Sandbox: @unchecked Sendable {
    /// Why the sandbox could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public let configuration: SandboxConfiguration
    private let handler: SandboxHandler
    private let lock = NSLock()
    /// Guarded by `lock`; nil before `start()`.
    private var server: HTTPServer?
    /// Guarded by `lock`; memory-only until `start()` opens the record file.
    private var recorder: SandboxRecorder?

    public init(configuration: SandboxConfiguration) {
        self.configuration = configuration
        self.handler = SandboxHandler(
            capi: CAPIRequestValidator(
                expectedAccessToken: configuration.expectedAccessToken,
                appSecret: configuration.appSecret
            ),
            crm: CRMRequestValidator(secret: configuration.crmSecret),
            crmPath: configuration.crmPath
        )
    }

    deinit {
        stop()
    }

    /// Opens the record file and starts listening; returns once requests are accepted.
    ///
    /// - Throws: `StartError` naming the record file or the address when either cannot be
    ///   used, or when the sandbox was already started (a sandbox runs once).
    public func start() throws {
        lock.lock()
        defer { lock.unlock() }
        guard server == nil else {
            throw StartError(description: "the sandbox was already started; create a new one")
        }

        let recorder: SandboxRecorder
        do {
            recorder = try SandboxRecorder(path: configuration.recordPath)
        } catch {
            throw StartError(description: "cannot start the sandbox: \(error)")
        }

        let handler = self.handler
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: configuration.host, port: configuration.port,
                maxBodyBytes: configuration.maxBodyBytes
            ),
            handler: { request, responder in
                Self.serve(request, responder, handler: handler, recorder: recorder)
            }
        )
        do {
            try server.start()
        } catch {
            recorder.close()
            throw StartError(description: "cannot start the sandbox: \(error)")
        }
        self.server = server
        self.recorder = recorder
    }

    /// The port the sandbox listens on; 0 before `start()`.
    public var port: UInt16 {
        lock.withLock { server?.boundPort ?? 0 }
    }

    /// `http://host:port`, for pointing a client at the sandbox; valid after `start()`.
    public var baseURL: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)"
    }

    /// Stops listening, closes connections and the record file. Idempotent; records stay
    /// readable. Must not be called from inside a request (the server would wait for itself).
    public func stop() {
        let (server, recorder) = lock.withLock { (self.server, self.recorder) }
        server?.stop()
        recorder?.close()
    }

    /// The most recent records, oldest first (at most `SandboxRecorder.memoryLimit`).
    public var records: [SandboxRecord] {
        lock.withLock { recorder }?.records ?? []
    }

    /// One request, on an event-loop thread: decide, record, then respond.
    ///
    /// The record is written before the response so that whoever holds the response can read
    /// its line. If the record file cannot be written the client gets a 500 (Graph code 2,
    /// transient) instead of a success nobody can verify, and memory keeps what happened.
    private static func serve(
        _ request: HTTPRequest, _ responder: HTTPResponder, handler: SandboxHandler,
        recorder: SandboxRecorder
    ) {
        let exchange = handler.exchange(
            for: request, time: Date().timeIntervalSince1970, fbtraceID: FBTraceID.random()
        )
        guard let record = exchange.record else {
            responder.respond(exchange.response)
            return
        }

        do {
            try recorder.append(record)
            responder.respond(exchange.response)
        } catch {
            let failure = GraphError.sandboxFailure("\(error)")
            var failed = record
            failed.status = failure.httpStatus
            failed.verdict = .rejected
            failed.error = failure.object
            failed.eventsReceived = nil
            recorder.rememberOnly(failed)

            switch record.kind {
            case .capi:
                let traceID = record.fbtraceID ?? FBTraceID.random()
                responder.respond(GraphResponse.error(failure, fbtraceID: traceID))
            case .crm:
                let body = CRMRejection(failure.httpStatus, failure.message).responseBody
                responder.respond(.json(failure.httpStatus, body.serialized()))
            }
        }
    }
}
