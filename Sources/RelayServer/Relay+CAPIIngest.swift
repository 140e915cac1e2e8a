import Foundation
import RelayCore
import RelayHTTP
import RelayIngest
import RelayJournal
import RelaySandbox

/// `/{api_version}/{dataset}/events` split out of a request path.
struct CAPIIngestPath {
    var apiVersion: String
    var dataset: String

    init?(_ path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[3] == "events",
            parts[1].range(of: #"^v[0-9]+\.[0-9]+$"#, options: .regularExpression) != nil
        else { return nil }
        apiVersion = String(parts[1])
        dataset = String(parts[2])
    }
}

/// `POST /{api_version}/{dataset}/events`: the Conversions API's own endpoint, so that the
/// official SDKs and GTM server tags can point at the relay unchanged.
///
/// Requests are read and answered as Graph does: parameters from the query and from a JSON,
/// form or multipart body; `data` as an array or a JSON-encoded string; a batch with one bad
/// event is refused whole (Meta's rule, which such clients are written for), with the reason in
/// Graph's error shape. The relay then applies its own normalization, consent, dedupe and
/// journal before it forwards anything.
extension Relay {
    func receiveCAPIEvents(
        _ request: HTTPRequest, _ responder: HTTPResponder, path: CAPIIngestPath
    ) {
        let traceID = "relay" + Crypto.hex(Crypto.randomBytes(8))
        @Sendable func fail(_ error: GraphError) {
            var object = error.object.objectValue ?? [:]
            object["fbtrace_id"] = .string(traceID)
            responder.respond(
                .json(error.httpStatus, JSONValue.object(["error": .object(object)]).serialized()))
        }
        guard configuration.capiIngest != nil, let token = liveSettings.secrets.ingestToken else {
            fail(
                GraphError(
                    httpStatus: 404, code: 100, subcode: 33,
                    message: "CAPI-compatible ingest is not configured on this relay; add"
                        + " capi_ingest to the config"))
            return
        }
        guard !stateLock.withLock({ draining }) else {
            fail(GraphError(httpStatus: 503, code: 2, message: "the relay is shutting down"))
            return
        }

        // Parameters: the query first, then the body; the first occurrence of a name wins.
        var parameters: [String: JSONValue] = request.query.mapValues(JSONValue.string)
        switch Self.bodyParameters(request) {
        case .success(let body):
            for (name, value) in body where parameters[name] == nil { parameters[name] = value }
        case .failure(let error):
            fail(error)
            return
        }

        // The token is compared, never logged or stored: the query is not journaled.
        guard let presented = parameters["access_token"]?.stringValue, !presented.isEmpty else {
            reject("capi_no_token", reason: "no access_token", request: request)
            fail(
                GraphError(
                    code: 104, message: "An access token is required to request this resource."))
            return
        }
        guard Crypto.constantTimeEqual(presented, token) else {
            reject("capi_wrong_token", reason: "access_token does not match", request: request)
            fail(
                GraphError(
                    code: 190,
                    message: "Invalid OAuth access token: it is not the relay's capi_ingest"
                        + " token"))
            return
        }
        guard knownDatasets.contains(path.dataset) else {
            fail(
                GraphError(
                    code: 100, subcode: 33,
                    message: "Object with ID '\(path.dataset.prefix(40))' does not exist on this"
                        + " relay; expected one of "
                        + knownDatasets.sorted().joined(separator: ", ")))
            return
        }
        let events: [JSONValue]
        do {
            events = try Self.graphEvents(parameters["data"])
        } catch {
            fail(GraphError(code: 100, message: "Invalid parameter: \(error.description)"))
            return
        }
        var testEventCode: String?
        if let code = parameters["test_event_code"] {
            guard let text = code.stringValue, !text.isEmpty else {
                fail(GraphError(code: 100, message: "test_event_code must be a non-empty string"))
                return
            }
            testEventCode = text
        }

        // Every event is checked; one bad event refuses the batch, as at Meta, and every
        // refusal is journaled with its reason.
        let now = Int64(Date().timeIntervalSince1970)
        let parser = ServerEventParser(normalizer: normalizer, flavor: .capi)
        let consent: ConsentState? =
            configuration.capiIngest?.consent == "granted" ? .granted : nil
        var drafts: [Draft] = []
        var firstProblem: (Int, EventProblem)?
        for (index, value) in events.enumerated() {
            switch parser.parse(value, nowSeconds: now) {
            case .success(let event):
                drafts.append(
                    serverItem(
                        event, raw: value, dataset: path.dataset, source: "capi_ingest",
                        defaultConsent: consent, testEventCode: testEventCode))
            case .failure(let problem):
                drafts.append(Draft(rejected: problem))
                firstProblem = firstProblem ?? (index, problem)
            }
        }
        if let (index, problem) = firstProblem {
            let refused = drafts.map { draft in
                draft.problem != nil
                    ? draft
                    : Draft(
                        rejected: EventProblem(
                            "batch", "not taken: event \(index) of the batch is invalid"))
            }
            journalDrafts(refused, source: "capi_ingest", body: redactedEvents(events)) { _ in
                fail(
                    GraphError(
                        code: 100, subcode: 2_804_000,
                        message: "Invalid parameter: data[\(index)].\(problem.field):"
                            + " \(problem.message)",
                        userTitle: "Invalid Event",
                        userMessage: "Event \(index): \(problem.description). No event of this"
                            + " request was taken."))
            }
            return
        }

        journalDrafts(drafts, source: "capi_ingest", body: redactedEvents(events)) { results in
            guard let results else {
                fail(GraphError(httpStatus: 503, code: 2, message: "journal unavailable; retry"))
                return
            }
            var messages: [JSONValue] = []
            for result in results {
                guard let object = result.objectValue else { continue }
                let index = object["index"]?.integerValue ?? 0
                if object["status"] == "duplicate", let id = object["event_id"]?.stringValue {
                    let rule = object["rule"]?.stringValue ?? ""
                    messages.append(
                        .string("data[\(index)]: duplicate of \(id) (rule \(rule)); not sent again")
                    )
                }
                for warning in object["warnings"]?.arrayValue ?? [] {
                    messages.append(.string("data[\(index)]: \(warning.stringValue ?? "")"))
                }
                for dropped in object["invalid_dropped"]?.arrayValue ?? [] {
                    let field = dropped["field"]?.stringValue ?? ""
                    let reason = dropped["reason"]?.stringValue ?? ""
                    messages.append(.string("data[\(index)]: \(field) dropped (\(reason))"))
                }
            }
            let body: JSONValue = .object([
                "events_received": .integer(Int64(results.count)),
                "messages": .array(messages),
                "fbtrace_id": .string(traceID),
            ])
            responder.respond(.json(200, body.serialized()))
        }
    }

    /// The body's parameters by content type, as Graph reads them.
    static func bodyParameters(_ request: HTTPRequest) -> Result<[String: JSONValue], GraphError> {
        guard !request.body.isEmpty else { return .success([:]) }
        let contentType = request.headers["Content-Type"] ?? ""
        let media = (contentType.split(separator: ";").first.map(String.init) ?? "")
            .trimmingCharacters(in: .whitespaces).lowercased()
        func fields(_ pairs: [(name: String, value: String)]) -> [String: JSONValue] {
            var parameters: [String: JSONValue] = [:]
            for pair in pairs where parameters[pair.name] == nil {
                parameters[pair.name] = .string(pair.value)
            }
            return parameters
        }
        switch media {
        case "application/json":
            guard let object = try? JSONValue(parsing: request.body).objectValue else {
                return .failure(
                    GraphError(code: 100, message: "the body is not a JSON object"))
            }
            return .success(object)
        case "application/x-www-form-urlencoded":
            return .success(fields(FormURLEncoding.decode(request.body)))
        case "multipart/form-data":
            guard let boundary = MultipartFormData.boundary(fromContentType: contentType),
                let pairs = MultipartFormData.decode(request.body, boundary: boundary)
            else {
                return .failure(
                    GraphError(code: 100, message: "the multipart body could not be read"))
            }
            return .success(fields(pairs))
        default:
            return .failure(
                GraphError(
                    code: 100,
                    message: "unsupported Content-Type; send application/json,"
                        + " application/x-www-form-urlencoded or multipart/form-data"))
        }
    }

    /// `data` as events: an array, or a JSON string of one; elements may themselves be JSON
    /// strings, as the Python SDK sends them.
    static func graphEvents(_ data: JSONValue?) throws(EventProblem) -> [JSONValue] {
        guard var data else { throw EventProblem("data", "is required") }
        if case .string(let text) = data {
            guard let parsed = try? JSONValue(parsing: Array(text.utf8)) else {
                throw EventProblem("data", "is a string that is not valid JSON")
            }
            data = parsed
        }
        guard let array = data.arrayValue else {
            throw EventProblem("data", "expected a JSON array of events")
        }
        guard !array.isEmpty else { throw EventProblem("data", "holds no events") }
        guard array.count <= maxEventsPerRequest else {
            throw EventProblem("data", "\(array.count) events; the limit is 1000")
        }
        return array.map { element in
            if case .string(let text) = element,
                let parsed = try? JSONValue(parsing: Array(text.utf8))
            {
                return parsed
            }
            return element
        }
    }
}
