import Foundation
import RelayCore
import RelayHTTP

/// `POST /v1/pixel-echo`: the landing page says which event_id its pixel fired.
///
/// Browsers post it from another origin, so it answers the CORS preflight and takes
/// `text/plain` JSON too (what `navigator.sendBeacon` sends, which needs no preflight). It
/// carries no customer data and no secret: only an event_id and an event name, kept once per
/// pair, for the pixel coverage on the feed.
extension Relay {
    func receivePixelEcho(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let settings = configuration.pixelEcho else {
            responder.respond(
                Self.problem(
                    404, "not_configured", "pixel echoes are not configured; add pixel_echo"))
            return
        }
        let origin = request.headers["Origin"]
        let allowed =
            settings.allowedOrigins.contains("*")
            ? "*" : origin.flatMap { settings.allowedOrigins.contains($0) ? $0 : nil }
        @Sendable func respond(_ response: HTTPResponse) {
            var response = response
            if let allowed {
                response.headers.add(name: "Access-Control-Allow-Origin", value: allowed)
                if allowed != "*" { response.headers.add(name: "Vary", value: "Origin") }
            }
            responder.respond(response)
        }

        if request.method == "OPTIONS" {
            var response = HTTPResponse(status: 204)
            response.headers.add(name: "Access-Control-Allow-Methods", value: "POST, OPTIONS")
            response.headers.add(name: "Access-Control-Allow-Headers", value: "Content-Type")
            response.headers.add(name: "Access-Control-Max-Age", value: "86400")
            respond(response)
            return
        }
        guard origin == nil || allowed != nil else {
            respond(Self.problem(403, "origin_not_allowed", "this origin may not post echoes"))
            return
        }

        guard let object = try? JSONValue(parsing: request.body).objectValue else {
            respond(
                Self.problem(400, "bad_request", "expected JSON {\"event_id\", \"event_name\"}"))
            return
        }
        guard let eventID = object["event_id"]?.stringValue, EventID.isValidSupplied(eventID)
        else {
            respond(
                Self.problem(
                    400, "bad_request",
                    "event_id: expected 1 to 200 printable ASCII characters without spaces"))
            return
        }
        guard let eventName = object["event_name"]?.stringValue, !eventName.isEmpty,
            eventName.utf8.count <= 100
        else {
            respond(Self.problem(400, "bad_request", "event_name: expected 1 to 100 characters"))
            return
        }

        let now = Int64(Date().timeIntervalSince1970 * 1000)
        journal.recordPixelEcho(eventID: eventID, eventName: eventName, atMillis: now) {
            [logger] error in
            if let error {
                logger.error("pixel echo not recorded", [("error", error.code.rawValue)])
                respond(Self.problem(503, "journal_unavailable", "retry later"))
            } else {
                respond(HTTPResponse(status: 204))
            }
        }
    }
}
