import Foundation
import RelayCore
import RelayHTTP
import RelayIngest
import RelayJournal

/// `POST /v1/events` and `POST /v1/event-ids`: canonical server events and minted event ids.
extension Relay {
    /// The most events one request may carry, as for Meta.
    static let maxEventsPerRequest = 1000

    func receiveServerEvents(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authorizeBearer(request, responder) else { return }
        guard !stateLock.withLock({ draining }) else {
            var response = Self.problem(503, "shutting_down", "shutting down; retry later")
            response.closesConnection = true
            responder.respond(response)
            return
        }

        let events: [JSONValue]
        do {
            events = try Self.eventList(try JSONValue(parsing: request.body))
        } catch let error as EventProblem {
            reject("server_event_malformed", reason: error.description, request: request)
            responder.respond(Self.problem(400, "bad_request", error.description))
            return
        } catch {
            reject("server_event_malformed", reason: "not JSON", request: request)
            responder.respond(Self.problem(400, "bad_request", "the body is not valid JSON"))
            return
        }

        let now = Int64(Date().timeIntervalSince1970)
        let parser = ServerEventParser(normalizer: normalizer, flavor: .canonical)
        var drafts: [Draft] = []
        for value in events {
            switch parser.parse(value, nowSeconds: now) {
            case .success(let event):
                switch canonicalDataset(of: event) {
                case .success(let dataset):
                    drafts.append(
                        serverItem(
                            event, raw: value, dataset: dataset, source: "server_event",
                            defaultConsent: nil, testEventCode: nil))
                case .failure(let problem):
                    drafts.append(Draft(rejected: problem))
                }
            case .failure(let problem):
                drafts.append(Draft(rejected: problem))
            }
        }
        journalDrafts(drafts, source: "server_event", body: redactedEvents(events)) { results in
            guard let results else {
                responder.respond(
                    Self.problem(503, "journal_unavailable", "journal unavailable; retry later"))
                return
            }
            let accepted = results.filter { $0["status"] != "rejected" }.count
            let body: JSONValue = .object([
                "events": .array(results),
                "received": .integer(Int64(results.count)),
                "accepted": .integer(Int64(accepted)),
            ])
            // A batch with one good event is a success for that event; the others say why
            // they were refused. Only a request with nothing usable is a client error.
            responder.respond(.json(accepted == 0 ? 400 : 200, body.serialized()))
        }
    }

    /// Mints the event_id of a conversion about to happen, for the landing-page link, the
    /// pixel's `eventID` and the CRM record.
    func mintEventID(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard authorizeBearer(request, responder) else { return }
        guard let object = try? JSONValue(parsing: request.body).objectValue else {
            responder.respond(
                Self.problem(400, "bad_request", "expected a JSON object with event_name"))
            return
        }
        let allowed: Set<String> = ["event_name", "page_id", "page_scoped_user_id", "nonce"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            responder.respond(
                Self.problem(
                    400, "bad_request",
                    "\(unknown): unknown key; expected one of \(allowed.sorted().joined(separator: ", "))"
                ))
            return
        }
        var values: [String: String] = [:]
        for key in allowed where object[key] != nil {
            guard let text = object[key]?.stringValue, !text.isEmpty, text.utf8.count <= 200 else {
                responder.respond(
                    Self.problem(400, "bad_request", "\(key): expected a string of 1 to 200 bytes"))
                return
            }
            values[key] = text
        }
        guard let eventName = values["event_name"] else {
            responder.respond(Self.problem(400, "bad_request", "event_name: is required"))
            return
        }

        // Without a nonce the id is still unique, but only this answer knows it.
        let nonce = values["nonce"] ?? Crypto.hex(Crypto.randomBytes(16))
        let eventID = EventID.mint(
            eventName: eventName, pageID: values["page_id"] ?? "",
            pageScopedUserID: values["page_scoped_user_id"] ?? "", nonce: nonce)
        let quoted = eventID.replacingOccurrences(of: "'", with: "")
        let body: JSONValue = .object([
            "event_id": .string(eventID),
            "event_name": .string(eventName),
            "deterministic": .bool(values["nonce"] != nil),
            "pixel": .string("fbq('track', '\(eventName)', {}, {eventID: '\(quoted)'});"),
        ])
        responder.respond(.json(200, body.serialized()))
    }

    // MARK: Shared by the event paths

    /// One event on its way to the journal: an item, and what the response will say of it.
    struct Draft {
        var item: InboundItem?
        var problem: EventProblem?
        var warnings: [String] = []
        var invalidDropped: [InvalidValue] = []

        init(item: InboundItem, warnings: [String], invalidDropped: [InvalidValue]) {
            self.item = item
            self.warnings = warnings
            self.invalidDropped = invalidDropped
        }

        init(rejected problem: EventProblem) {
            self.problem = problem
        }
    }

    /// The item for a parsed server event, with its event_id (minted when absent) and keys.
    func serverItem(
        _ event: ServerEvent, raw: JSONValue, dataset: String, source: String,
        defaultConsent: ConsentState?, testEventCode: String?
    ) -> Draft {
        var warnings: [String] = []
        let eventID: String
        if let supplied = event.eventID {
            eventID = supplied
        } else {
            eventID = EventID.forContent(
                dataset: dataset, eventName: event.eventName, content: raw.serialized())
            warnings.append(
                "no event_id: the relay minted \(eventID) from the event's content, so a retry"
                    + " of the same event deduplicates, but the pixel and the CRM cannot know it;"
                    + (event.hasIdentity
                        ? " events of the same person and name within the identity window count"
                            + " once"
                        : " with no identifier either, only an identical retry is recognized")
                    + ". Mint ids ahead with POST /v1/event-ids")
        }

        var conversion = Conversion(
            eventID: eventID, eventIDSupplied: event.eventID != nil, eventName: event.eventName,
            dataset: dataset, pageID: event.pageID, pageScopedUserID: event.pageScopedUserID,
            eventTime: event.eventTime, channel: event.messagingChannel ?? "messenger",
            customData: event.customData, rule: source)
        conversion.actionSource = event.actionSource
        conversion.eventSourceURL = event.eventSourceURL
        conversion.unhashedUserData = event.unhashed.isEmpty ? nil : event.unhashed
        conversion.invalidDropped = event.invalidDropped.isEmpty ? nil : event.invalidDropped
        conversion.optOut = event.optOut ? true : nil
        conversion.source = source
        conversion.testEventCode = testEventCode

        let consent = event.consent ?? defaultConsent
        let signal = InboundSignal(
            channel: event.messagingChannel ?? source, pageID: event.pageID,
            pageScopedUserID: event.pageScopedUserID, timestampMillis: event.eventTime * 1000,
            kind: .serverEvent)
        let item = InboundItem(
            signal: signal, outcome: .conversion(conversion),
            profileUpdate: ProfileUpdate(
                consent: consent, identifiers: event.hashed,
                consentSource: consent == nil ? nil : source),
            dedupeByIdentity: event.eventID == nil)
        return Draft(item: item, warnings: warnings, invalidDropped: event.invalidDropped)
    }

    /// Journals the accepted drafts and the rejections (each with its reason) in one
    /// delivery, then hands one result object per draft to `respond`, in order (nil when the
    /// journal could not commit: nothing was stored, and the sender should retry).
    func journalDrafts(
        _ drafts: [Draft], source: String, body: [UInt8],
        respond: @escaping @Sendable ([JSONValue]?) -> Void
    ) {
        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let items = drafts.map { draft in
            draft.item
                ?? InboundItem(
                    signal: InboundSignal(
                        channel: source, pageID: "", pageScopedUserID: "",
                        timestampMillis: receivedAt, kind: .serverEvent),
                    outcome: .notConversion(reason: "rejected: \(draft.problem!.description)"))
        }
        let delivery = InboundDelivery(
            source: source, receivedAtMillis: receivedAt, body: body, items: items)
        let summaries = drafts.map { ($0.warnings, $0.invalidDropped, $0.problem) }
        // A stop that began since the request was let in: nothing is stored, so a retry is
        // what the sender must do, as after a journal failure.
        guard admitToJournal() else {
            respond(nil)
            return
        }
        journal.append(delivery) { [logger, self] result in
            defer { self.answered() }
            switch result {
            case .success(let receipt):
                var results: [JSONValue] = []
                for (index, (result, summary)) in zip(receipt.results, summaries).enumerated() {
                    var described = Self.describe(result, index: index, summary: summary)
                    // Fields removed for lack of consent, so the sender learns why they are
                    // missing at Meta: names only.
                    if let dropped = receipt.consentDropped[index], !dropped.isEmpty,
                        case .object(var object) = described
                    {
                        object["consent_dropped"] = .array(dropped.map(JSONValue.string))
                        described = .object(object)
                    }
                    results.append(described)
                }
                // Counted before the answer, so that a scrape after it sees the delivery.
                self.metrics.record(receipt, of: delivery)
                respond(results)
                self.publish(receipt, of: delivery)
                self.flush()
            case .failure(let error):
                logger.error(
                    "journal append failed", [("error", error.code.rawValue), ("source", source)])
                respond(nil)
            }
        }
    }

    /// What the response says of one event.
    static func describe(
        _ result: ItemResult, index: Int,
        summary: ([String], [InvalidValue], EventProblem?)
    ) -> JSONValue {
        var object: [String: JSONValue] = ["index": .integer(Int64(index))]
        switch result {
        case .conversion(_, let eventID):
            object["status"] = "new"
            object["event_id"] = .string(eventID)
        case .dedupeHit(_, let eventID, let rule):
            object["status"] = "duplicate"
            object["event_id"] = .string(eventID)
            object["rule"] = .string(rule)
        case .notConversion(let reason):
            object["status"] = "rejected"
            if let problem = summary.2 {
                object["error"] = .object([
                    "field": .string(problem.field), "message": .string(problem.message),
                ])
            } else {
                object["error"] = .object(["field": "event", "message": .string(reason)])
            }
        }
        if !summary.0.isEmpty { object["warnings"] = .array(summary.0.map(JSONValue.string)) }
        if !summary.1.isEmpty {
            object["invalid_dropped"] = .array(
                summary.1.map {
                    .object(["field": .string($0.field), "reason": .string($0.reason)])
                }
            )
        }
        return .object(object)
    }

    /// The events of a canonical body: one object, an array, or `{"data": [...]}`.
    static func eventList(_ body: JSONValue) throws(EventProblem) -> [JSONValue] {
        let events: [JSONValue]
        switch body {
        case .array(let array): events = array
        case .object(let object) where object["data"] != nil:
            guard let array = object["data"]?.arrayValue else {
                throw EventProblem("data", "expected an array of events")
            }
            guard object.count == 1 else {
                throw EventProblem("body", "a batch holds only data: [...]")
            }
            events = array
        case .object: events = [body]
        default: throw EventProblem("body", "expected an event object or an array of events")
        }
        guard !events.isEmpty else { throw EventProblem("data", "holds no events") }
        guard events.count <= maxEventsPerRequest else {
            throw EventProblem(
                "data", "\(events.count) events; at most \(maxEventsPerRequest) per request")
        }
        return events
    }

    /// Events as the journal keeps them: customer information replaced by what is sent (its
    /// hash), so that no raw email or phone number is ever stored.
    func redactedEvents(_ events: [JSONValue]) -> [UInt8] {
        let redacted = events.map { event -> JSONValue in
            guard var object = event.objectValue, var userData = object["user_data"]?.objectValue
            else { return event }
            for (key, value) in userData {
                guard let field = CustomerField(key: key) else { continue }
                let raws = value.arrayValue?.compactMap(\.stringValue) ?? [value.stringValue ?? ""]
                userData[key] = .array(
                    raws.map {
                        .string((try? normalizer.wireValue(field, $0).get()) ?? "[invalid]")
                    })
            }
            object["user_data"] = .object(userData)
            return .object(object)
        }
        return JSONValue.array(redacted).serialized()
    }

    /// Every dataset the relay delivers to: the pages' and the server events' default.
    var knownDatasets: Set<String> {
        // Pages reload live; the server_events and crm_echo sections wait for a restart.
        let pages = liveSettings.configuration.pages
        var datasets = Set(pages.map(\.dataset))
        if let dataset = configuration.serverEvents?.dataset { datasets.insert(dataset) }
        if let dataset = configuration.crmEcho?.dataset { datasets.insert(dataset) }
        return datasets
    }

    /// The dataset of a canonical event: named, else its page's, else the configured default.
    private func canonicalDataset(of event: ServerEvent) -> Result<String, EventProblem> {
        if let dataset = event.dataset {
            guard knownDatasets.contains(dataset) else {
                return .failure(
                    EventProblem(
                        "dataset",
                        "\(dataset) is not a dataset of this relay; expected one of "
                            + knownDatasets.sorted().joined(separator: ", ")))
            }
            return .success(dataset)
        }
        if let dataset = liveSettings.configuration.datasets[event.pageID] {
            return .success(dataset)
        }
        if let dataset = configuration.serverEvents?.dataset { return .success(dataset) }
        return .failure(
            EventProblem(
                "dataset",
                "the event names no dataset and no mapped page, and server_events.dataset is"
                    + " not set"))
    }

    /// Checks `Authorization: Bearer …` against the server-events token in constant time.
    /// Answers 404 or 401 itself and returns false when the request may not go on.
    private func authorizeBearer(_ request: HTTPRequest, _ responder: HTTPResponder) -> Bool {
        guard configuration.serverEvents != nil, let token = liveSettings.secrets.eventsToken else {
            responder.respond(
                Self.problem(
                    404, "not_configured",
                    "server events are not configured; add server_events to the config"))
            return false
        }
        let header = request.headers["Authorization"] ?? ""
        let presented = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
        guard Crypto.constantTimeEqual(presented, token) else {
            reject(
                "unauthorized", reason: header.isEmpty ? "no bearer token" : "wrong bearer token",
                request: request)
            var response = Self.problem(
                401, "unauthorized", "send Authorization: Bearer <server_events token>")
            response.headers.add(name: "WWW-Authenticate", value: "Bearer")
            responder.respond(response)
            return false
        }
        return true
    }

    /// `{"error": {"code": …, "message": …}}` with a status.
    static func problem(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
        .json(
            status,
            JSONValue.object([
                "error": .object(["code": .string(code), "message": .string(message)])
            ]).serialized())
    }
}
