import Foundation
import RelayCore
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
    private let injector: FaultInjector
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
        self.injector = FaultInjector(configuration.faults, now: Date().timeIntervalSince1970)
    }

    /// The fault plan in force.
    public var faults: SandboxFaults { injector.current }

    /// Replaces the fault plan; outage times count from now.
    public func setFaults(_ faults: SandboxFaults) {
        injector.replace(faults, now: Date().timeIntervalSince1970)
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
        let injector = self.injector
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: configuration.host, port: configuration.port,
                maxBodyBytes: configuration.maxBodyBytes
            ),
            handler: { request, responder in
                Self.serve(
                    request, responder, handler: handler, recorder: recorder, injector: injector)
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
        recorder: SandboxRecorder, injector: FaultInjector
    ) {
        let time = Date().timeIntervalSince1970
        let route = SandboxRoute(path: request.path, crmPath: handler.crmPath)
        if route == .faults {
            responder.respond(controlFaults(request, injector: injector, now: time))
            return
        }

        var latencyMs = 0
        var exchange: SandboxExchange
        var timeoutMs: Int?
        switch route {
        case .events, .crm:
            switch injector.decide(crm: route == .crm, now: time) {
            case .pass(let latency, let reject):
                latencyMs = latency
                exchange = handler.exchange(
                    for: request, time: time, fbtraceID: FBTraceID.random(),
                    rejectEventIDs: reject)
            case .fail(
                let status, let code, let subcode, let message, let retryAfter, let fault,
                let latency):
                latencyMs = latency
                exchange = injected(
                    request, route: route, time: time, status: status, code: code,
                    subcode: subcode, message: message, retryAfter: retryAfter, fault: fault)
            case .timeout(let afterMs):
                timeoutMs = afterMs
                exchange = injected(
                    request, route: route, time: time, status: 504, code: nil, subcode: nil,
                    message: "sandbox fault: no answer for \(afterMs) ms", retryAfter: nil,
                    fault: "timeout")
            }
        default:
            exchange = handler.exchange(for: request, time: time, fbtraceID: FBTraceID.random())
        }

        // Latency and timeouts answer later, from another thread, which HTTPResponder allows;
        // the record is written first either way, so whoever holds an answer can read it.
        let delayMs = timeoutMs ?? latencyMs
        let respond: @Sendable (HTTPResponse) -> Void = { response in
            guard delayMs > 0 else { return responder.respond(response) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMs)) {
                responder.respond(response)
            }
        }
        guard let record = exchange.record else {
            respond(exchange.response)
            return
        }

        do {
            try recorder.append(record)
            respond(exchange.response)
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

    /// An answer chosen by the fault plan instead of the stand-in, recorded as rejected.
    private static func injected(
        _ request: HTTPRequest, route: SandboxRoute, time: Double, status: Int, code: Int?,
        subcode: Int?, message: String?, retryAfter: Double?, fault: String
    ) -> SandboxExchange {
        let traceID = FBTraceID.random()
        var response: HTTPResponse
        var errorObject: JSONValue
        let isCAPI: Bool
        var dataset: String?
        var version: String?
        if case .events(let v, let d) = route {
            isCAPI = true
            dataset = d
            version = v
        } else {
            isCAPI = false
        }
        if isCAPI, let code {
            let error = GraphError(
                httpStatus: status, code: code, subcode: subcode,
                message: message ?? FaultInjector.graphMessage(code: code))
            response = GraphResponse.error(error, fbtraceID: traceID)
            errorObject = error.object
        } else {
            let text = message ?? "sandbox fault: \(fault), http \(status)"
            response =
                isCAPI
                ? .text(status, text)
                : .json(
                    status, (["ok": false, "error": .string(text)] as JSONValue).serialized())
            errorObject = ["message": .string(text)]
        }
        if let retryAfter {
            let seconds = retryAfter.rounded(.up)
            response.headers.add(name: "Retry-After", value: String(Int(seconds)))
        }
        var record = SandboxRecord(
            time: time, kind: isCAPI ? .capi : .crm, method: request.method, path: request.path,
            dataset: dataset, apiVersion: version, status: status, verdict: .rejected,
            error: errorObject, fbtraceID: isCAPI ? traceID : nil)
        record.fault = fault
        return SandboxExchange(response: response, record: record)
    }

    /// `GET` shows the fault plan, `PUT` replaces it (outage times restart from now),
    /// `DELETE` clears it. Loopback tools and tests use it to script failures at runtime.
    private static func controlFaults(
        _ request: HTTPRequest, injector: FaultInjector, now: Double
    ) -> HTTPResponse {
        switch request.method {
        case "GET":
            return .json(200, injector.current.json.serialized())
        case "PUT", "POST":
            do {
                let faults = try SandboxFaults(json: request.body)
                injector.replace(faults, now: now)
                return .json(200, faults.json.serialized())
            } catch {
                return .text(400, error.description)
            }
        case "DELETE":
            injector.replace(SandboxFaults(), now: now)
            return .json(200, SandboxFaults().json.serialized())
        default:
            var response = HTTPResponse.text(
                405,
                "method \(request.method) not allowed on /_sandbox/faults; use GET, PUT or DELETE")
            response.headers.add(name: "Allow", value: "GET, PUT, DELETE")
            return response
        }
    }
}
