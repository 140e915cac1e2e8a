import RelayDelivery
import Testing

@testable import RelayServer

/// What each delivery event adds to the counters, without a relay.
@Suite struct RelayMetricsTests {
    let metrics = RelayMetrics(labels: MetricLabels(eventNames: ["Lead"], datasets: ["880"]))

    @Test func deadLettersCountByReasonCodeAndNeverByMessage() {
        metrics.record(
            .deadLettered(
                eventID: "cr1.aa", destination: "capi",
                reason: "graph_100 code=100 subcode=2804003 Invalid parameter"),
            atMillis: 0)
        metrics.record(
            .deadLettered(eventID: "cr1.bb", destination: "crm", reason: "Some Free Text"),
            atMillis: 0)
        #expect(metrics.deadLetters.value(["capi", "other", "graph_100"]) == 1)
        #expect(metrics.deadLetters.value(["crm", "other", "other"]) == 1)
    }

    @Test func failedAttemptsCountTheGraphCodeElseTheStatusElseTransport() {
        func failed(status: Int?, code: Int?, _ failureClass: FailureClass) -> DeliveryEvent {
            .attemptFailed(
                destination: "capi", dataset: "880", eventIDs: ["cr1.aa", "cr1.bb"],
                status: status, code: code, subcode: nil, message: "", nextRetryMillis: nil,
                failureClass: failureClass)
        }
        metrics.record(failed(status: 400, code: 17, .transient), atMillis: 0)
        metrics.record(failed(status: 502, code: nil, .transient), atMillis: 0)
        metrics.record(failed(status: nil, code: nil, .transient), atMillis: 0)
        metrics.record(failed(status: 400, code: 100, .invalidEvents), atMillis: 0)
        #expect(metrics.failedAttempts.value(["capi", "880", "transient", "17"]) == 1)
        #expect(metrics.failedAttempts.value(["capi", "880", "transient", "http_502"]) == 1)
        #expect(metrics.failedAttempts.value(["capi", "880", "transient", "transport"]) == 1)
        #expect(metrics.failedAttempts.value(["capi", "880", "invalid_events", "100"]) == 1)
    }

    @Test func aSentEventFromBeforeThisProcessIsCountedAsOtherWithoutALatency() {
        metrics.record(
            .sent(
                destination: "capi", dataset: "880", eventIDs: ["cr1.from-last-run"], status: 200,
                eventsReceived: 1, fbtraceID: nil),
            atMillis: 5_000)
        metrics.record(.expired(eventID: "cr1.old", reason: "too old"), atMillis: 0)
        #expect(metrics.sent.value(["capi", "880", "other"]) == 1)
        #expect(metrics.deliveryLatency.count(["capi"]) == 0)
        #expect(metrics.expired.value(["capi", "other", "other"]) == 1)
    }
}
