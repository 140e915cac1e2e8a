import Foundation
import RelayJournal
import RelayTestSupport
import Testing

/// `GET /metrics` on a real relay after a scripted funnel: its counts must agree with what the
/// sandbox recorded and with the journal.
@Suite(.serialized) struct MetricsEndpointTests {
    @Test func countsAfterAFunnelWithFailuresAgreeWithTheSandboxAndTheJournal() throws {
        let stack = try RelayStack(
            extraConfig: QAFunnel.qaConfig,
            capiConfig: #""backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2"#,
            crmConfig: #""backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2"#)
        defer { stack.stop() }

        // CAPI is down for the first 0.6 s and a third of CRM posts fail, so that failed
        // attempts are counted too; every event still arrives in the end.
        try stack.setFaults(
            """
            {"seed": 3, "capi": {"outages": [{"from_seconds": 0, "to_seconds": 0.6}]},
                        "crm": {"errors": [{"rate": 0.3, "status": 502}]}}
            """)
        try QAFunnel.play(into: stack)

        // And a server event from a person of unknown consent: its email and phone are dropped.
        let contact = try stack.postEvents([
            "event_name": "Contact", "event_time": Int(Date().timeIntervalSince1970),
            "action_source": "website", "event_source_url": "https://lp.example/contact",
            "client_user_agent": "Mozilla/5.0", "consent": "unknown",
            "user_data": ["em": "invented.person@example.com", "ph": "+1 650 555 0100"],
        ])
        #expect(contact.status == 200, "\(contact.body)")
        #expect(
            try eventually(timeout: 30) {
                let counters = try stack.counters()
                return counters.capiPending == 0 && counters.crmPending == 0
            })

        // The journal records a delivery just before the worker reports it, so the scrape may
        // need a moment to catch up with the journal.
        let counters = try stack.counters()
        let records = try stack.records()
        var scrape = try PrometheusScrape(try Self.scrape(stack))
        _ = try eventually {
            scrape = try PrometheusScrape(try Self.scrape(stack))
            return scrape.sum("capi_relay_sent_total", where: ["destination": "capi"])
                == Double(counters.capiSent)
                && scrape.sum("capi_relay_sent_total", where: ["destination": "crm"])
                    == Double(counters.crmSent)
        }

        // Intake: every item, and what it became, as the journal recorded it.
        #expect(scrape.sum("capi_relay_received_total") == Double(counters.received))
        #expect(
            scrape.value("capi_relay_received_total", ["source": "messenger"])
                == Double(counters.received - 1))
        #expect(scrape.value("capi_relay_received_total", ["source": "server_event"]) == 1)
        #expect(scrape.sum("capi_relay_conversions_total") == Double(counters.conversionsMade))
        #expect(scrape.sum("capi_relay_conversions_total") == Double(QAFunnel.conversions + 1))
        #expect(scrape.sum("capi_relay_dedupe_hits_total") == Double(counters.dedupeHits))
        #expect(counters.dedupeHits == 1, "the funnel redelivers one lead")
        #expect(
            scrape.sum("capi_relay_not_conversions_total") == Double(counters.notConversions))
        let stored = try JournalReader(path: stack.journalPath).conversions()
        for name in Set(stored.map(\.eventName)) {
            #expect(
                scrape.sum(
                    "capi_relay_conversions_total",
                    where: ["event_name": name, "dataset": RelayStack.dataset])
                    == Double(stored.filter { $0.eventName == name }.count),
                "conversions of \(name)")
        }
        #expect(
            scrape.value(
                "capi_relay_conversions_total",
                ["source": "server_event", "event_name": "Contact", "dataset": RelayStack.dataset])
                == 1)

        // Consent: each field the journal says was dropped, counted once.
        let dropped = stored.flatMap(\.consentDropped)
        #expect(Set(dropped) == ["em", "ph"])
        for field in Set(dropped) {
            #expect(
                scrape.sum("capi_relay_consent_drops_total", where: ["field": field])
                    == Double(dropped.filter { $0 == field }.count), "consent drops of \(field)")
        }

        // Delivery: what the sandbox accepted, by destination; and each failed request.
        let accepted = try stack.acceptedEvents()
        #expect(
            scrape.sum("capi_relay_sent_total", where: ["destination": "capi"])
                == Double(accepted.count))
        #expect(accepted.count == counters.capiSent)
        #expect(
            scrape.sum("capi_relay_sent_total", where: ["destination": "crm"])
                == Double(try stack.acceptedCRMPosts().count))
        let refused = { (kind: String) in
            records.filter {
                $0["kind"] as? String == kind && $0["verdict"] as? String == "rejected"
            }
        }
        #expect(!refused("capi").isEmpty && !refused("crm").isEmpty, "the faults fired")
        #expect(
            scrape.sum("capi_relay_failed_attempts_total", where: ["destination": "capi"])
                == Double(refused("capi").count))
        #expect(
            scrape.value(
                "capi_relay_failed_attempts_total",
                [
                    "destination": "capi", "dataset": RelayStack.dataset, "class": "transient",
                    "code": "2",
                ]) == Double(refused("capi").count))
        #expect(
            scrape.sum(
                "capi_relay_failed_attempts_total",
                where: ["destination": "crm", "code": "http_502"])
                == Double(refused("crm").count))
        #expect(scrape.sum("capi_relay_dead_letters_total") == 0)

        // Gauges: nothing waits, nothing is paused.
        #expect(
            scrape.series[
                #"capi_relay_queue_depth{dataset="880000000000001",destination="capi"}"#] == 0)
        #expect(scrape.value("capi_relay_destination_paused", ["destination": "capi"]) == 0)
        #expect(scrape.series[#"capi_relay_destination_paused{destination="crm"}"#] == 0)

        // Histograms: one acknowledgement per webhook post, one delivery per event.
        #expect(
            scrape.value("capi_relay_acknowledgement_latency_seconds_count", ["route": "messenger"])
                == 9, "the funnel posts nine webhooks")
        #expect(
            scrape.value(
                "capi_relay_acknowledgement_latency_seconds_bucket",
                ["route": "messenger", "le": "+Inf"]) == 9)
        #expect(
            scrape.value("capi_relay_delivery_latency_seconds_count", ["destination": "capi"])
                == Double(accepted.count))
        #expect(scrape.types["capi_relay_delivery_latency_seconds"] == "histogram")
        #expect(scrape.types["capi_relay_sent_total"] == "counter")
        #expect(scrape.types["capi_relay_queue_depth"] == "gauge")
    }

    @Test func labelsNeverCarryEventIDsOrUserIDs() throws {
        let stack = try RelayStack(extraConfig: QAFunnel.qaConfig)
        defer { stack.stop() }
        try QAFunnel.play(into: stack)
        // A server event with a name no config knows and its own id.
        let response = try stack.postEvents([
            "event_name": "MyOddEvent-7310000000000999",
            "event_time": Int(Date().timeIntervalSince1970),
            "event_id": "order-unique-42", "action_source": "system_generated",
            "user_data": ["external_id": "crm-person-555"], "consent": "granted",
        ])
        #expect(response.status == 200, "\(response.body)")
        let text = try Self.scrape(stack)

        for id in QAFunnel.people + [QAFunnel.renee, "order-unique-42", "7310000000000999"] {
            #expect(!text.contains(id), "\(id) must not be a label")
        }
        #expect(!text.contains("cr1."), "no event_id in any label")
        let scrape = try PrometheusScrape(text)
        #expect(
            scrape.value(
                "capi_relay_conversions_total",
                ["source": "server_event", "event_name": "other", "dataset": RelayStack.dataset])
                == 1, "an unknown event name is folded into other")
    }

    static func scrape(_ stack: RelayStack) throws -> String {
        let response = try RawHTTP.get(port: stack.relayPort, "/metrics")
        guard response.status == 200 else {
            throw TestFailure("/metrics answered \(response.status): \(response.body)")
        }
        guard response.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true
        else { throw TestFailure("content type \(response.header("Content-Type") ?? "none")") }
        return response.body
    }
}
