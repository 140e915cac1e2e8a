import Testing

@testable import RelayServer

@Suite struct PrometheusTextTests {
    @Test func countersRenderHelpTypeAndSortedSamplesWithEscapedLabels() {
        let counter = CounterFamily(
            "demo_sent_total", help: "Events sent.\nSecond line \\ here.",
            labels: ["dataset", "name"])
        counter.increment(["2", "Lead"])
        counter.increment(["1", "say \"hi\"\nbye"], by: 2)
        counter.increment(["2", "Lead"])
        counter.increment(["3", "Zero"], by: 0)

        #expect(
            PrometheusText.render([counter.family]) == """
                # HELP demo_sent_total Events sent.\\nSecond line \\\\ here.
                # TYPE demo_sent_total counter
                demo_sent_total{dataset="1",name="say \\"hi\\"\\nbye"} 2
                demo_sent_total{dataset="2",name="Lead"} 2

                """)
    }

    @Test func histogramsAreCumulativeWithAnInfBucketSumAndCount() {
        let histogram = HistogramFamily(
            "demo_latency_seconds", help: "Latency.", labels: ["route"], bounds: [0.1, 1])
        for value in [0.05, 0.1, 0.5, 3] { histogram.observe(["a"], value) }

        #expect(
            PrometheusText.render([histogram.family]) == """
                # HELP demo_latency_seconds Latency.
                # TYPE demo_latency_seconds histogram
                demo_latency_seconds_bucket{route="a",le="0.1"} 2
                demo_latency_seconds_bucket{route="a",le="1"} 3
                demo_latency_seconds_bucket{route="a",le="+Inf"} 4
                demo_latency_seconds_sum{route="a"} 3.65
                demo_latency_seconds_count{route="a"} 4

                """)
    }

    @Test func aFamilyWithNoSamplesYetStillDeclaresItself() {
        let gauge = MetricFamily(name: "demo_up", help: "Up.", kind: .gauge, samples: [])
        #expect(PrometheusText.render([gauge]) == "# HELP demo_up Up.\n# TYPE demo_up gauge\n")
    }

    @Test func unknownEventNamesAndDatasetsFoldIntoOther() {
        let labels = MetricLabels(eventNames: ["Lead"], datasets: ["880"])
        #expect(labels.eventName("Lead") == "Lead")
        #expect(labels.eventName("Lead-7310000000000001") == "other")
        #expect(labels.eventName(nil) == "other")
        #expect(labels.dataset("999") == "other")
    }

    @Test func aConfigWithThousandsOfEventNamesStillMakesABoundedLabelSet() {
        let names = Set((0..<5000).map { "Custom\($0)" })
        #expect(MetricLabels(eventNames: names, datasets: []).eventNames.count == 100)
    }

    @Test func theConversionIndexForgetsTheOldestBeyondItsCapacity() {
        let index = ConversionIndex(capacity: 2)
        for id in ["a", "b", "c"] {
            index.remember(id, .init(eventName: "Lead", dataset: "1", acknowledgedAtMillis: 5))
        }
        #expect(index.entry("a") == nil)
        #expect(index.entry("b")?.eventName == "Lead")
        #expect(index.entry("c") != nil)
    }

    @Test func anIDRememberedAgainIsKeptAsTheNewest() {
        let index = ConversionIndex(capacity: 2)
        let entry = ConversionIndex.Entry(eventName: "Lead", dataset: "1", acknowledgedAtMillis: 5)
        for id in ["a", "b", "a", "c"] { index.remember(id, entry) }
        #expect(index.entry("a") != nil, "a was remembered after b")
        #expect(index.entry("b") == nil)
        #expect(index.entry("c") != nil)
    }

    @Test func theConversionIndexGivesEachIDItsOwnLabels() {
        let index = ConversionIndex(capacity: 10)
        index.remember("a", .init(eventName: "Lead", dataset: "1", acknowledgedAtMillis: 5))
        index.remember("b", .init(eventName: "Purchase", dataset: "1", acknowledgedAtMillis: 6))
        index.remember("c", .init(eventName: "Lead", dataset: "2", acknowledgedAtMillis: 7))
        #expect(index.entry("a") == .init(eventName: "Lead", dataset: "1", acknowledgedAtMillis: 5))
        #expect(
            index.entry("b") == .init(eventName: "Purchase", dataset: "1", acknowledgedAtMillis: 6))
        #expect(index.entry("c") == .init(eventName: "Lead", dataset: "2", acknowledgedAtMillis: 7))
        #expect(index.entry("d") == nil)
    }

    @Test func pastItsLabelLimitTheConversionIndexForgetsRatherThanGrows() {
        let index = ConversionIndex(capacity: ConversionIndex.maxLabels + 10)
        for number in 0...ConversionIndex.maxLabels {
            index.remember(
                "id\(number)",
                .init(eventName: "Custom\(number)", dataset: "1", acknowledgedAtMillis: 1))
        }
        #expect(index.entry("id0")?.eventName == "Custom0")
        #expect(index.entry("id\(ConversionIndex.maxLabels)") == nil)
    }
}
