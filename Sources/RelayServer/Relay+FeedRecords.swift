import Foundation
import RelayCore
import RelayDelivery
import RelayFeed
import RelayIngest
import RelayJournal

/// What the relay tells the feed: a record per stage of a delivery, and per delivery-worker
/// event.
extension Relay {
    /// Feed records for a committed delivery: `received`, then one per item.
    func publish(_ receipt: AppendReceipt, of delivery: InboundDelivery) {
        feed.publish(
            .received,
            [
                "source": .string(delivery.source), "delivery_id": .integer(receipt.deliveryID),
                "items": .integer(Int64(receipt.results.count)),
            ])
        for (position, (item, result)) in zip(delivery.items, receipt.results).enumerated() {
            var fields: [String: JSONValue] = [
                "page_id": .string(item.signal.pageID),
                "psid": .string(item.signal.pageScopedUserID),
            ]
            let conversion = item.outcome.conversion
            if let conversion {
                fields["event_name"] = .string(conversion.eventName)
                fields["dataset"] = .string(conversion.dataset)
            }
            // A CRM stage or an echo names no person: the journal took it from the conversion
            // it follows.
            if let inherited = receipt.inherited[position] {
                fields["page_id"] = .string(inherited.pageID)
                fields["psid"] = .string(inherited.pageScopedUserID)
                fields["dataset"] = .string(inherited.dataset)
            }
            switch result {
            case .conversion(_, let eventID):
                fields["event_id"] = .string(eventID)
                fields["rule"] = conversion.map { .string($0.rule) } ?? .null
                fields["source"] = .string(delivery.source)
                if let dropped = conversion?.invalidDropped, !dropped.isEmpty {
                    fields["invalid_dropped"] = .array(
                        dropped.map {
                            .object(["field": .string($0.field), "reason": .string($0.reason)])
                        })
                }
                feed.publish(.mapped, fields)
                if let dropped = receipt.consentDropped[position] {
                    feed.publish(
                        .consentDropped,
                        [
                            "event_id": .string(eventID),
                            "fields": .array(dropped.map(JSONValue.string)),
                        ])
                }
                feed.publish(.queued, ["event_id": .string(eventID), "destination": "capi"])
            case .dedupeHit(_, let eventID, let rule):
                if let matched = receipt.matches[position] {
                    fields["event_name"] = .string(matched.eventName)
                    fields["dataset"] = .string(matched.dataset)
                }
                fields["event_id"] = .string(eventID)
                fields["rule"] = .string(rule)
                fields["matched_event_id"] = .string(eventID)
                fields["source"] = .string(delivery.source)
                feed.publish(.dedupeHit, fields)
            case .notConversion(let reason):
                fields["kind"] = .string(item.signal.kind.rawValue)
                fields["source"] = .string(delivery.source)
                fields["reason"] = .string(reason)
                feed.publish(.notConversion, fields)
            }
        }
    }

    /// Feed records for what a delivery worker did.
    static func publish(_ event: DeliveryEvent, to feed: FeedHub) {
        func integer(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }
        switch event {
        case .sent(let destination, let dataset, let eventIDs, let status, let received, let trace):
            feed.publish(
                .sent,
                [
                    "destination": .string(destination), "dataset": .string(dataset),
                    "event_ids": .array(eventIDs.map(JSONValue.string)),
                    "status": integer(status), "events_received": integer(received),
                    "fbtrace_id": trace.map(JSONValue.string) ?? .null,
                ])
        case .attemptFailed(
            let destination, let dataset, let eventIDs, let status, let code, let subcode,
            let message, let next, let failureClass):
            feed.publish(
                .attemptFailed,
                [
                    "destination": .string(destination), "dataset": .string(dataset),
                    "event_ids": .array(eventIDs.map(JSONValue.string)),
                    "status": integer(status), "code": integer(code), "subcode": integer(subcode),
                    "message": .string(message), "class": .string(failureClass.rawValue),
                    "next_retry_at": next.map { .string(FeedRecord.timestamp($0)) } ?? .null,
                ])
        case .expired(let eventID, let reason):
            feed.publish(.expired, ["event_id": .string(eventID), "reason": .string(reason)])
        case .deadLettered(let eventID, let destination, let reason):
            feed.publish(
                .deadLettered,
                [
                    "event_id": .string(eventID), "destination": .string(destination),
                    "reason": .string(reason),
                ])
        case .bisected(let destination, let dataset, let count, let message):
            feed.publish(
                .bisected,
                [
                    "destination": .string(destination), "dataset": .string(dataset),
                    "events": .integer(Int64(count)), "message": .string(message),
                ])
        case .paused(let destination, let reason, let code):
            feed.publish(
                .paused,
                [
                    "destination": .string(destination), "reason": .string(reason),
                    "code": integer(code),
                    "alert": .string(
                        destination == "crm"
                            ? "the CRM refuses the relay's signature: fix crm.secret, then"
                                + " reload the config (SIGHUP)"
                            : "Meta refuses the access token: put a valid one where"
                                + " capi.access_token says, then reload the config (SIGHUP)"),
                ])
        case .resumed(let destination):
            feed.publish(.resumed, ["destination": .string(destination)])
        }
    }
}
