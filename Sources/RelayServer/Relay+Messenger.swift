import Foundation
import RelayCore
import RelayDelivery
import RelayFeed
import RelayHTTP
import RelayIngest
import RelayJournal

/// Messenger's side of the front door: the subscription handshake and the webhooks, checked,
/// mapped and journaled before they are answered.
extension Relay {
    func verifySubscription(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let verifyToken = liveSettings.secrets.verifyToken
        switch MessengerVerification.answer(query: request.query, verifyToken: verifyToken) {
        case .accept(let challenge):
            logger.notice("webhook subscription verified", [("source", "messenger")])
            // Exactly the challenge, with no newline: Meta compares the body with what it sent.
            responder.respond(
                HTTPResponse(
                    status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"],
                    body: Array(challenge.utf8)))
        case .reject(let reason):
            reject("verify_token", reason: reason, request: request)
            responder.respond(.text(403, "verification failed"))
        }
    }

    func receiveMessenger(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard !stateLock.withLock({ draining }) else {
            responder.respond(Self.shuttingDown)
            return
        }

        // The signature is checked on the raw bytes before anything reads them.
        let signature = request.headers["X-Hub-Signature-256"]
        let verdict = MessengerSignature.verify(
            header: signature, body: request.body, appSecret: liveSettings.secrets.appSecret)
        guard verdict == .valid else {
            reject(
                "signature_\(verdict.rawValue)", reason: "X-Hub-Signature-256 \(verdict.rawValue)",
                request: request)
            responder.respond(.text(403, "invalid signature"))
            return
        }

        // A QA replay may ask for Meta's Test Events; only a relay configured for it agrees,
        // and a refusal says so rather than sending what was meant as a test for real.
        let testEventCode = request.headers[Relay.testEventCodeHeader]
        if let testEventCode {
            guard configuration.qa.acceptTestEventCode else {
                reject("test_event_code", reason: "test event codes are off", request: request)
                responder.respond(
                    .text(
                        400,
                        "\(Relay.testEventCodeHeader) is not accepted here; set"
                            + " qa.accept_test_event_code in the relay's config"))
                return
            }
            guard Relay.isValidTestEventCode(testEventCode) else {
                reject("test_event_code", reason: "malformed test event code", request: request)
                responder.respond(
                    .text(400, "\(Relay.testEventCodeHeader) must be 1 to 64 letters or digits"))
                return
            }
        }

        let signals: [InboundSignal]
        do {
            signals = try MessengerWebhook.parse(request.body)
        } catch {
            switch error {
            case .unsupportedObject(let object):
                // The object's name is the sender's text: quoted only when it looks like one.
                let named =
                    object.count <= 32
                    && object.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "_") }
                reject(
                    "unsupported_object",
                    reason: named ? "object \(object)" : "object not a plain name",
                    request: request)
                responder.respond(.text(404, "object '\(object)' is not handled; only 'page' is"))
            case .malformed(let detail):
                reject("malformed", reason: detail, request: request)
                responder.respond(.text(400, "malformed webhook: \(detail)"))
            }
            return
        }

        let receivedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let mapper = self.mapper
        let delivery = InboundDelivery(
            source: "messenger", receivedAtMillis: receivedAt,
            body: journaledBody(request.body, signals: signals),
            items: signals.map { signal in
                var outcome = mapper.map(signal)
                if let testEventCode, case .conversion(var conversion) = outcome {
                    conversion.testEventCode = testEventCode
                    outcome = .conversion(conversion)
                }
                return InboundItem(
                    signal: signal, outcome: outcome, profileUpdate: profileUpdate(for: signal),
                    sourceKey: signal.mid.flatMap { $0.isEmpty ? nil : "mid:" + $0 })
            })
        guard admitToJournal() else {
            responder.respond(Self.shuttingDown)
            return
        }
        journal.append(delivery) { [logger, self] result in
            defer { self.answered() }
            switch result {
            case .success(let receipt):
                logger.debug(
                    "webhook journaled",
                    [("delivery", "\(receipt.deliveryID)"), ("items", "\(receipt.results.count)")])
                // Counted before the answer, so that a scrape after it sees the delivery.
                self.metrics.record(receipt, of: delivery)
                responder.respond(.text(200, "EVENT_RECEIVED"))
                // Acknowledge first: the feed is for watchers and must not delay Meta.
                self.publish(receipt, of: delivery)
            case .failure(let error):
                // 503 makes Meta redeliver: nothing of this delivery was stored.
                logger.error("journal append failed", [("error", error.code.rawValue)])
                responder.respond(.text(503, "journal unavailable; redeliver later"))
            }
        }
    }

    /// What a signal tells about its person: a consent given or revoked, and identifiers typed
    /// into the chat (hashed here; the text itself goes no further).
    func profileUpdate(for signal: InboundSignal) -> ProfileUpdate {
        let consent = consentPolicy.consent(expressedBy: signal)
        var update = ProfileUpdate(
            consent: consent,
            consentSource: consent == nil ? nil : "messenger_\(signal.kind.rawValue)")
        if let capture, signal.kind == .message || signal.kind == .quickReply,
            let text = signal.text
        {
            update.identifiers = capture.capture(from: text)
        }
        return update
    }

    /// The body as the journal keeps it: message text replaced by its length, unless the config
    /// asks to retain raw text. What people type can hold anything, and the journal outlives
    /// the webhook; mapping has already read the text by now.
    /// Most deliveries (postbacks, receipts, referrals) carry no text: they are kept as they
    /// came, without parsing the body a second time on the acknowledgement path.
    func journaledBody(_ body: [UInt8], signals: [InboundSignal]) -> [UInt8] {
        guard !configuration.feed.rawMessageText, signals.contains(where: { $0.text != nil })
        else { return body }
        return InboundMasking.masked(body, keepText: false).serialized()
    }
}
