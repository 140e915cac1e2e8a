import Foundation
import RelayCore
import RelayHTTP
import RelayIngest
import RelayJournal

/// `POST /webhooks/crm`: echoes of conversions the CRM received, and lifecycle changes.
extension Relay {
    func receiveCRMEcho(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let settings = configuration.crmEcho, let secret = liveSettings.secrets.crmEchoSecret
        else {
            responder.respond(
                Self.problem(
                    404, "not_configured", "CRM echoes are not configured; add crm_echo"))
            return
        }
        guard !stateLock.withLock({ draining }) else {
            var response = Self.problem(503, "shutting_down", "shutting down; retry later")
            response.closesConnection = true
            responder.respond(response)
            return
        }

        // The signature is checked on the raw bytes before anything reads them.
        let header = request.headers[CRMEchoParser.signatureHeader]
        guard CRMEchoParser.verify(header: header, body: request.body, secret: secret) else {
            reject(
                "crm_signature", reason: header == nil ? "no signature" : "wrong signature",
                request: request)
            responder.respond(
                Self.problem(
                    403, "invalid_signature",
                    "\(CRMEchoParser.signatureHeader) must be sha256= and the lowercase hex"
                        + " HMAC-SHA256 of the raw body keyed with the crm_echo secret"))
            return
        }
        let parser = CRMEchoParser(
            normalizer: normalizer, recordIDAsExternalID: settings.recordIDAsExternalID)
        let records: [Result<CRMEcho, EventProblem>]
        let parsedBody: JSONValue
        do {
            parsedBody = try JSONValue(parsing: request.body)
            records = try parser.parse(parsedBody).get()
        } catch let problem as EventProblem {
            reject("crm_malformed", reason: problem.description, request: request)
            responder.respond(Self.problem(400, "bad_request", problem.description))
            return
        } catch {
            reject("crm_malformed", reason: "not JSON", request: request)
            responder.respond(Self.problem(400, "bad_request", "the body is not valid JSON"))
            return
        }

        let now = Int64(Date().timeIntervalSince1970)
        let drafts = records.map { record -> Draft in
            switch record {
            case .success(let echo): crmItem(echo, settings: settings, now: now)
            case .failure(let problem): Draft(rejected: problem)
            }
        }
        journalDrafts(drafts, source: "crm_echo", body: redactedCRMBody(parsedBody)) { results in
            guard let results else {
                responder.respond(
                    Self.problem(503, "journal_unavailable", "journal unavailable; retry later"))
                return
            }
            responder.respond(
                .json(200, JSONValue.object(["records": .array(results)]).serialized()))
        }
    }

    /// A lifecycle conversion when the stage is mapped, else an echo of the conversion the
    /// record names by event_id.
    private func crmItem(_ echo: CRMEcho, settings: RelayConfiguration.CRMEcho, now: Int64)
        -> Draft
    {
        let signal = InboundSignal(
            channel: "crm", pageID: echo.pageID, pageScopedUserID: echo.pageScopedUserID,
            timestampMillis: now * 1000, kind: .crmEcho)
        let update = ProfileUpdate(
            consent: echo.consent, identifiers: echo.identifiers,
            consentSource: echo.consent == nil ? nil : "crm_echo")
        let reference = echo.eventID.map {
            ConversionReference(eventID: $0, eventName: echo.eventName)
        }
        let mapping = echo.stage.flatMap { stage in
            settings.stages.first { $0.stage.lowercased() == stage }
        }

        guard let mapping, let stage = echo.stage else {
            guard let reference else {
                return Draft(
                    rejected: EventProblem(
                        "stage",
                        "'\(echo.stage ?? "")' is not a mapped stage (crm_echo.stages), and the"
                            + " record names no event_id to match"))
            }
            let item = InboundItem(
                signal: signal, outcome: .notConversion(reason: "crm echo"),
                profileUpdate: update, refersTo: reference)
            return Draft(item: item, warnings: [], invalidDropped: echo.invalidDropped)
        }

        // A lifecycle change: its id comes from the record and the stage, so every echo of the
        // same change is the same conversion.
        var customData: [String: JSONValue] = [:]
        if let value = echo.value { customData["value"] = .float(value) }
        if let currency = echo.currency ?? mapping.currency {
            customData["currency"] = .string(currency.uppercased())
        }
        if mapping.event == "Purchase"
            && (customData["value"] == nil
                || customData["currency"] == nil)
        {
            return Draft(
                rejected: EventProblem(
                    "value",
                    "stage \(stage) makes a Purchase, which needs a value and a currency"))
        }

        // The earlier conversion's dataset, else the page's, else the configured default.
        let earlier = echo.eventID.flatMap { try? journal.inspect(eventID: $0).first?.conversion }
        let dataset =
            earlier?.dataset ?? liveSettings.configuration.datasets[echo.pageID]
            ?? settings.dataset ?? ""
        var conversion = Conversion(
            eventID: EventID.forCRMStage(recordID: echo.recordID, stage: stage),
            eventName: mapping.event, dataset: dataset, pageID: echo.pageID,
            pageScopedUserID: echo.pageScopedUserID,
            eventTime: min(echo.updatedAt ?? now, now), customData: customData,
            rule: "crm_stage:\(stage)")
        // With a Messenger person it is a business-messaging event; otherwise the CRM made it.
        conversion.actionSource =
            echo.pageScopedUserID.isEmpty ? "system_generated" : "business_messaging"
        conversion.invalidDropped = echo.invalidDropped.isEmpty ? nil : echo.invalidDropped
        conversion.source = "crm_echo"
        let item = InboundItem(
            signal: signal, outcome: .conversion(conversion), profileUpdate: update,
            sourceKey: "crm:\(echo.recordID):\(stage)", refersTo: reference)
        return Draft(item: item, warnings: [], invalidDropped: echo.invalidDropped)
    }

    /// The body as the journal keeps it: contact details replaced by their hashes.
    private func redactedCRMBody(_ body: JSONValue) -> [UInt8] {
        func redact(_ value: JSONValue) -> JSONValue {
            switch value {
            case .array(let elements): return .array(elements.map(redact))
            case .object(var object):
                if let records = object["records"] {
                    object["records"] = redact(records)
                    return .object(object)
                }
                for (key, field) in [
                    ("email", CustomerField.email), ("phone", .phone), ("external_id", .externalID),
                ] {
                    if let text = object[key]?.stringValue {
                        object[key] = .string(
                            (try? normalizer.wireValue(field, text).get()) ?? "[invalid]")
                    }
                }
                return .object(object)
            default: return value
            }
        }
        return redact(body).serialized()
    }
}
