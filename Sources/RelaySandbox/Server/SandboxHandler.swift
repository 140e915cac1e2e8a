import Foundation
import RelayCore
import RelayHTTP

/// What the sandbox will do with one request: the response, and the record to keep first.
struct SandboxExchange: Sendable {
    var response: HTTPResponse
    /// Nil for requests that are not deliveries (health checks, plain 404s).
    var record: SandboxRecord?
}

/// Turns a request into a response and a record, with no I/O: the driver (`Sandbox`) does the
/// recording and responding, so this is tested without sockets.
///
/// The steps are route, then validate, then answer. Fault injection (`FaultInjector`) sits
/// in the driver between routing and validation: it either answers itself or lets this run,
/// naming the event ids to reject; the driver honours latency, since `HTTPResponder` may be
/// called later from any thread.
struct SandboxHandler: Sendable {
    var capi: CAPIRequestValidator
    var crm: CRMRequestValidator
    var crmPath: String

    /// - Parameters:
    ///   - time: the server clock, Unix seconds; `event_time` is judged against it.
    ///   - fbtraceID: the trace ID for this response, injected so that tests can fix it.
    ///   - rejectEventIDs: a pattern; a batch with a matching event_id is rejected (a fault).
    func exchange(
        for request: HTTPRequest, time: Double, fbtraceID: String,
        rejectEventIDs: String? = nil
    ) -> SandboxExchange {
        let route = SandboxRoute(path: request.path, crmPath: crmPath)
        let answer = Answer(request: request, time: time, fbtraceID: fbtraceID)

        switch route {
        case .faults:
            // Served by the driver, which owns the fault plan; reaching here is a bug.
            return SandboxExchange(response: .text(500, "fault control is not wired"), record: nil)

        case .health:
            guard request.method == "GET" || request.method == "HEAD" else {
                return SandboxExchange(response: answer.methodNotAllowed(allow: "GET"), record: nil)
            }
            return SandboxExchange(response: .text(200, "ok"), record: nil)

        case .notFound:
            return SandboxExchange(
                response: .text(
                    404,
                    "not found: \(request.method) \(request.path); the sandbox serves "
                        + "POST /{version}/{dataset}/events, POST \(crmPath) and GET /healthz"
                ),
                record: nil
            )

        case .unknownGraphPath:
            let error = GraphError.unsupportedRequest(
                "\(request.method) \(request.path) is not served", httpStatus: 404
            )
            return answer.graphRejection(error, dataset: nil, version: nil, batch: nil)

        case .events(let version, let dataset):
            guard request.method == "POST" else {
                let error = GraphError.unsupportedRequest(
                    "\(request.method) \(request.path) is not served; events are POSTed",
                    httpStatus: 405
                )
                return answer.graphRejection(error, dataset: dataset, version: version, batch: nil)
            }
            return answer.events(
                version: version, dataset: dataset, validator: capi,
                rejectEventIDs: rejectEventIDs)

        case .crm:
            guard request.method == "POST" else {
                return SandboxExchange(
                    response: answer.methodNotAllowed(allow: "POST"), record: nil)
            }
            return answer.crmPost(validator: crm)
        }
    }
}

/// The pieces of one answer, sharing the request, clock and trace ID.
private struct Answer {
    let request: HTTPRequest
    let time: Double
    let fbtraceID: String

    func events(
        version: String, dataset: String, validator: CAPIRequestValidator,
        rejectEventIDs: String?
    ) -> SandboxExchange {
        let capiRequest = CAPIRequest(
            dataset: dataset, apiVersion: version, query: request.query,
            contentType: request.headers["Content-Type"], body: request.body,
            now: Int64(time.rounded(.down))
        )
        switch validator.validate(capiRequest) {
        case .accepted(let batch):
            if let pattern = rejectEventIDs,
                let index = Self.firstMatch(pattern, in: batch.events)
            {
                // Meta rejects the whole batch for one invalid event; so does this fault.
                let error = GraphError.invalidParameter(
                    "data[\(index)] was rejected by the sandbox's fault plan",
                    title: "Event Rejected",
                    fix: "Remove or fix the event; the sandbox rejects event ids matching "
                        + "its reject_event_ids pattern.")
                var exchange = graphRejection(
                    error, dataset: dataset, version: version, batch: batch)
                exchange.record?.fault = "reject"
                return exchange
            }
            let record = SandboxRecord(
                time: time, kind: .capi, method: request.method, path: request.path,
                dataset: dataset, apiVersion: version, status: 200, verdict: .accepted,
                eventsReceived: batch.eventsReceived, events: batch.events,
                testEventCode: batch.testEventCode, partnerAgent: batch.partnerAgent,
                fbtraceID: fbtraceID
            )
            return SandboxExchange(
                response: GraphResponse.eventsReceived(batch.eventsReceived, fbtraceID: fbtraceID),
                record: record
            )
        case .rejected(let error, let batch):
            return graphRejection(error, dataset: dataset, version: version, batch: batch)
        }
    }

    /// The index of the first event whose event_id matches `pattern`.
    static func firstMatch(_ pattern: String, in events: [JSONValue]) -> Int? {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return nil }
        return events.firstIndex { event in
            guard let id = event["event_id"]?.stringValue else { return false }
            return expression.firstMatch(in: id, range: NSRange(id.startIndex..., in: id)) != nil
        }
    }

    func graphRejection(
        _ error: GraphError, dataset: String?, version: String?, batch: CAPIBatch?
    ) -> SandboxExchange {
        let record = SandboxRecord(
            time: time, kind: .capi, method: request.method, path: request.path,
            dataset: dataset, apiVersion: version, status: error.httpStatus, verdict: .rejected,
            error: error.object,
            events: batch?.events.map { SandboxHandler.withoutUnhashedValues($0) },
            testEventCode: batch?.testEventCode, partnerAgent: batch?.partnerAgent,
            fbtraceID: fbtraceID
        )
        return SandboxExchange(
            response: GraphResponse.error(error, fbtraceID: fbtraceID), record: record
        )
    }

    func crmPost(validator: CRMRequestValidator) -> SandboxExchange {
        let signature = request.headers[CRMRequestValidator.signatureHeader]
        switch validator.validate(signature: signature, body: request.body) {
        case .accepted(let body):
            let record = SandboxRecord(
                time: time, kind: .crm, method: request.method, path: request.path, status: 200,
                verdict: .accepted, body: body
            )
            return SandboxExchange(
                response: .json(200, (["ok": true] as JSONValue).serialized()), record: record)
        case .rejected(let rejection, let body):
            let record = SandboxRecord(
                time: time, kind: .crm, method: request.method, path: request.path,
                status: rejection.httpStatus, verdict: .rejected,
                error: ["message": .string(rejection.message)], body: body
            )
            return SandboxExchange(
                response: .json(rejection.httpStatus, rejection.responseBody.serialized()),
                record: record
            )
        }
    }

    func methodNotAllowed(allow: String) -> HTTPResponse {
        var response = HTTPResponse.text(
            405, "method \(request.method) not allowed on \(request.path); use \(allow)")
        response.headers.add(name: "Allow", value: allow)
        return response
    }
}

extension SandboxHandler {
    /// A rejected event with every hashed user_data value that is not a SHA-256 replaced: a
    /// request refused for sending an email in clear must not leave that email in the record.
    static func withoutUnhashedValues(_ event: JSONValue) -> JSONValue {
        guard case .object(var members) = event, case .object(var userData)? = members["user_data"]
        else { return event }
        func clean(_ value: JSONValue) -> JSONValue {
            switch value {
            case .string(let text) where Crypto.looksLikeSHA256(text, lowercaseOnly: true):
                return value
            case .array(let elements):
                return .array(elements.map(clean))
            default:
                return "[removed: not a SHA-256]"
            }
        }
        for key in CAPIRequestValidator.hashedUserDataKeys {
            if let value = userData[key] { userData[key] = clean(value) }
        }
        members["user_data"] = .object(userData)
        return .object(members)
    }
}
