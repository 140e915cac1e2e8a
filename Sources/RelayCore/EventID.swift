/// Derives event ids that stay the same when Messenger redelivers a webhook.
///
/// Meta redelivers on any failure and promises no ordering, so the id must come from what the
/// redelivery repeats: the page, the person, the event name and the message or postback id.
/// A random id per delivery would turn every redelivery into a second conversion.
public enum EventID {
    /// The prefix marks derived ids, so an operator can tell them from ids a source supplied.
    public static let derivedPrefix = "cr1."

    /// The id for a conversion of `eventName` caused by the item `anchor` (its mid, or
    /// `t<timestamp>` for items that have none, such as referrals and optins).
    ///
    /// 32 hex digits of SHA-256 (128 bits) keep collisions out of reach while leaving room for
    /// the id in a landing-page URL.
    public static func derive(
        pageID: String, pageScopedUserID: String, eventName: String, anchor: String
    ) -> String {
        // The unit separator cannot appear in any of the four parts, so no two different
        // inputs share a preimage.
        let material = ["capi-relay/event-id/v1", pageID, pageScopedUserID, eventName, anchor]
            .joined(separator: "\u{1F}")
        return derivedPrefix + Crypto.sha256Hex(material).prefix(32)
    }

    /// The anchor for a signal: its mid when it has one, else its timestamp.
    public static func anchor(for signal: InboundSignal) -> String {
        if let mid = signal.mid, !mid.isEmpty { return "mid:" + mid }
        return "t:\(signal.timestampMillis)"
    }

    /// Whether a supplied id is acceptable: 1–200 printable ASCII characters without spaces.
    /// Meta takes any string; the limit keeps ids usable in URLs, logs and the console.
    public static func isValidSupplied(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...200).contains(utf8.count) else { return false }
        return utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// The id `POST /v1/event-ids` mints for a conversion about to happen: the Messenger
    /// formula with `nonce:` and the caller's nonce as the anchor, so the same page, person,
    /// event name and nonce always give the same id, whichever relay is asked.
    public static func mint(
        eventName: String, pageID: String, pageScopedUserID: String, nonce: String
    ) -> String {
        derive(
            pageID: pageID, pageScopedUserID: pageScopedUserID, eventName: eventName,
            anchor: "nonce:" + nonce)
    }

    /// The id of a CRM lifecycle conversion: from the CRM record and the stage only, so that
    /// every echo of the same stage change gets the same id and deduplicates, even when the
    /// config later maps the stage to another event name.
    public static func forCRMStage(recordID: String, stage: String) -> String {
        let material = ["capi-relay/crm-stage/v1", recordID, stage].joined(separator: "\u{1F}")
        return derivedPrefix + Crypto.sha256Hex(material).prefix(32)
    }

    /// The id given to a server event that arrived without one: from its dataset, name and
    /// canonical content, so that a retry of the very same event deduplicates. The pixel and
    /// the CRM cannot know it, which is why the response carries a warning.
    public static func forContent(dataset: String, eventName: String, content: [UInt8]) -> String {
        let material =
            Array(
                ["capi-relay/content/v1", dataset, eventName, ""].joined(separator: "\u{1F}").utf8)
            + content
        return derivedPrefix + Crypto.sha256Hex(material).prefix(32)
    }
}
