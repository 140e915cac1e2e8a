import Foundation
import RelayDelivery
import RelayJournal

/// The relay's Prometheus metrics: counters and histograms fed by the pipeline as it runs,
/// and gauges read from the journal and the destinations at scrape time.
///
/// Counters are process-local (they start from zero at each start, the Prometheus norm), so
/// after a run of one process they agree with the journal's own counts and with what the
/// sandbox recorded. Labels come from `MetricLabels`: never an event id or a user id.
final class RelayMetrics: @unchecked Sendable {
    /// Acknowledgement is a journal commit (an fsync): milliseconds when idle, more under load,
    /// and Meta's limit is 5 s.
    static let acknowledgementBounds = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
    /// Delivery waits for the next batch (a second by default) and retries with backoff: from
    /// a fraction of a second to hours.
    static let deliveryBounds = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600]

    let received = CounterFamily(
        "capi_relay_received_total",
        help: "Items received and journaled (messaging items, events, CRM records), by source.",
        labels: ["source"])
    let conversions = CounterFamily(
        "capi_relay_conversions_total",
        help: "New conversions journaled, by source, event name and dataset.",
        labels: ["source", "event_name", "dataset"])
    let dedupeHits = CounterFamily(
        "capi_relay_dedupe_hits_total",
        help: "Items recognised as a conversion already journaled, by the dedupe rule that fired.",
        labels: ["source", "rule", "event_name", "dataset"])
    let notConversions = CounterFamily(
        "capi_relay_not_conversions_total",
        help:
            "Items journaled that made no conversion (no rule matched, receipts, rejected events).",
        labels: ["source"])
    let consentDrops = CounterFamily(
        "capi_relay_consent_drops_total",
        help: "Customer fields removed for lack of consent, by field; field=\"event\" counts"
            + " events dropped whole.",
        labels: ["field", "event_name", "dataset"])
    let rejected = CounterFamily(
        "capi_relay_rejected_total",
        help: "Requests refused before the journal (bad signature, malformed body), by reason.",
        labels: ["reason"])
    let sent = CounterFamily(
        "capi_relay_sent_total",
        help: "Events delivered, by destination, dataset and event name.",
        labels: ["destination", "dataset", "event_name"])
    let failedAttempts = CounterFamily(
        "capi_relay_failed_attempts_total",
        help: "Delivery requests that failed, by destination, dataset, failure class and code"
            + " (Graph code, else http_STATUS, else transport).",
        labels: ["destination", "dataset", "class", "code"])
    let expired = CounterFamily(
        "capi_relay_expired_total",
        help: "Events older than Meta's 7 days, dead-lettered before sending.",
        labels: ["destination", "dataset", "event_name"])
    let deadLetters = CounterFamily(
        "capi_relay_dead_letters_total",
        help: "Events a destination gave up on, by reason code.",
        labels: ["destination", "dataset", "reason"])
    let responses = CounterFamily(
        "capi_relay_http_responses_total",
        help: "HTTP answers by route and status code; unknown paths are route=\"other\".",
        labels: ["route", "code"])
    let reloads = CounterFamily(
        "capi_relay_config_reloads_total",
        help: "Config reloads (SIGHUP): applied, or refused because the new config has errors.",
        labels: ["result"])
    let acknowledgementLatency = HistogramFamily(
        "capi_relay_acknowledgement_latency_seconds",
        help: "From a request being read to its answer, for the ingest routes.",
        labels: ["route"], bounds: RelayMetrics.acknowledgementBounds)
    let deliveryLatency = HistogramFamily(
        "capi_relay_delivery_latency_seconds",
        help: "From a conversion being journaled to a destination accepting it.",
        labels: ["destination"], bounds: RelayMetrics.deliveryBounds)

    /// When the process started, for `process_start_time_seconds`: a restart shows as a jump.
    let startedAt = Date()

    private let index = ConversionIndex()
    private let lock = NSLock()
    /// Guarded by `lock`; replaced when a reload brings new rules or datasets.
    private var labels: MetricLabels

    init(labels: MetricLabels) {
        self.labels = labels
    }

    var labelPolicy: MetricLabels {
        get { lock.withLock { labels } }
        set { lock.withLock { labels = newValue } }
    }

    // MARK: Intake

    /// Counts a committed delivery: every item by source, then what each became.
    func record(_ receipt: AppendReceipt, of delivery: InboundDelivery) {
        let labels = labelPolicy
        let source = delivery.source
        received.increment([source], by: Double(receipt.results.count))
        for (position, (item, result)) in zip(delivery.items, receipt.results).enumerated() {
            switch result {
            case .conversion(_, let eventID):
                let conversion = item.outcome.conversion
                let eventName = labels.eventName(conversion?.eventName)
                let dataset = labels.dataset(conversion?.dataset)
                conversions.increment([source, eventName, dataset])
                index.remember(
                    eventID,
                    ConversionIndex.Entry(
                        eventName: eventName, dataset: dataset,
                        acknowledgedAtMillis: delivery.receivedAtMillis))
                for field in receipt.consentDropped[position] ?? [] {
                    consentDrops.increment([consentField(field), eventName, dataset])
                }
            case .dedupeHit(_, _, let rule):
                let matched = receipt.matches[position]
                dedupeHits.increment([
                    source, rule, labels.eventName(matched?.eventName),
                    labels.dataset(matched?.dataset),
                ])
            case .notConversion(let reason):
                notConversions.increment([source])
                // The policy dropped the whole event: no fields were sent, none were counted.
                if reason.hasPrefix("consent:") {
                    let conversion = item.outcome.conversion
                    consentDrops.increment([
                        "event", labels.eventName(conversion?.eventName),
                        labels.dataset(conversion?.dataset),
                    ])
                }
            }
        }
    }

    /// Field names come from the consent policy's list, but the journal reports what it
    /// removed: keep them to the known customer-information keys.
    private func consentField(_ field: String) -> String {
        Self.consentFields.contains(field) ? field : MetricLabels.other
    }

    private static let consentFields: Set<String> = [
        "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id",
    ]

    // MARK: Delivery

    /// Counts what a delivery worker reported.
    func record(_ event: DeliveryEvent, atMillis now: Int64) {
        let labels = labelPolicy
        switch event {
        case .sent(let destination, let dataset, let eventIDs, _, _, _):
            for eventID in eventIDs {
                let entry = index.entry(eventID)
                sent.increment([
                    destination, labels.dataset(entry?.dataset ?? dataset),
                    entry?.eventName ?? MetricLabels.other,
                ])
                if let entry {
                    deliveryLatency.observe(
                        [destination], Double(max(0, now - entry.acknowledgedAtMillis)) / 1000)
                }
            }
        case .attemptFailed(
            let destination, let dataset, _, let status, let code, _, _, _, let failureClass):
            let codeLabel = code.map(String.init) ?? status.map { "http_\($0)" } ?? "transport"
            failedAttempts.increment([
                destination, labels.dataset(dataset), failureClass.rawValue, codeLabel,
            ])
        case .expired(let eventID, _):
            let entry = index.entry(eventID)
            expired.increment([
                "capi", entry?.dataset ?? MetricLabels.other,
                entry?.eventName ?? MetricLabels.other,
            ])
        case .deadLettered(let eventID, let destination, let reason):
            // The summary starts with the reason's short code (`graph_100`, `expired`, …).
            let code = reason.split(separator: " ").first.map(String.init) ?? "unknown"
            let entry = index.entry(eventID)
            deadLetters.increment([
                destination, entry?.dataset ?? MetricLabels.other,
                Self.isReasonCode(code) ? code : MetricLabels.other,
            ])
        case .bisected, .paused, .resumed:
            break
        }
    }

    /// Reason codes are short snake_case words with digits; anything else is folded, so that
    /// a message can never become a label by accident.
    private static func isReasonCode(_ code: String) -> Bool {
        (1...40).contains(code.count)
            && code.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
    }

    // MARK: Scrape

    /// The counters and histograms, in a fixed order.
    var families: [MetricFamily] {
        [
            received, conversions, dedupeHits, notConversions, consentDrops, rejected, sent,
            failedAttempts, expired, deadLetters, responses, reloads,
        ].map(\.family) + [acknowledgementLatency.family, deliveryLatency.family]
    }
}
