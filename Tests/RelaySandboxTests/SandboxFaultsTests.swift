import Foundation
import Testing

@testable import RelaySandbox

/// The fault plan's JSON and its decisions, without sockets.
@Suite struct SandboxFaultsTests {
    @Test func theDocumentedFormParses() throws {
        let faults = try SandboxFaults(
            json: Array(
                #"""
                {"seed": 7,
                 "capi": {"latency_ms": 20,
                          "errors": [{"rate": 0.1, "status": 503, "code": 2},
                                     {"rate": 0.02, "status": 400, "code": 17,
                                      "retry_after_seconds": 1}],
                          "timeout_rate": 0.01, "timeout_ms": 3000,
                          "reject_event_ids": "^cr1\\.00",
                          "outages": [{"from_seconds": 10, "to_seconds": 40}]},
                 "crm": {"outages": [{"from_seconds": 0, "to_seconds": 60, "code": null}]}}
                """#.utf8))
        #expect(faults.seed == 7)
        #expect(faults.capi.errors.count == 2)
        #expect(faults.capi.errors[1].retryAfterSeconds == 1)
        #expect(faults.capi.rejectEventIDs == #"^cr1\.00"#)
        #expect(faults.capi.outages == [.init(fromSeconds: 10, toSeconds: 40)])
        #expect(faults.crm.outages.first?.code == nil)
        #expect(try SandboxFaults(json: faults.json.serialized()) == faults, "round trip")
    }

    @Test func mistakesAreReportedWithTheirKeyPath() {
        #expect {
            try SandboxFaults(
                json: Array(
                    #"{"capi": {"latency": 5, "errors": [{"rate": 2}], "reject_event_ids": "("}}"#
                        .utf8))
        } throws: { error in
            let text = (error as? SandboxFaultsError)?.description ?? ""
            return text.contains("capi.latency: unknown key")
                && text.contains("capi.errors[0].rate: expected a number in 0.0…1.0")
                && text.contains("capi.reject_event_ids: expected a regular expression")
        }
    }

    @Test func anOutageFailsEveryRequestInItsWindowOnly() {
        let injector = FaultInjector(
            SandboxFaults(capi: .init(outages: [.init(fromSeconds: 10, toSeconds: 40)])), now: 0)
        #expect(injector.decide(crm: false, now: 9.9) == .pass(latencyMs: 0, rejectEventIDs: nil))
        guard case .fail(503, 2, _, _, _, "outage", _) = injector.decide(crm: false, now: 10)
        else {
            Issue.record("no outage at 10 s")
            return
        }
        #expect(injector.decide(crm: false, now: 40) == .pass(latencyMs: 0, rejectEventIDs: nil))
        #expect(
            injector.decide(crm: true, now: 20) == .pass(latencyMs: 0, rejectEventIDs: nil),
            "the CRM has its own plan")
    }

    @Test func aFailureRateIsHeldOverManyRequestsAndRepeatsWithItsSeed() {
        let faults = SandboxFaults(seed: 3, capi: .init(errors: [.init(rate: 0.1, status: 500)]))
        func failures() -> Int {
            let injector = FaultInjector(faults, now: 0)
            return (0..<10_000).filter {
                if case .fail = injector.decide(crm: false, now: Double($0) / 1000) {
                    true
                } else {
                    false
                }
            }.count
        }
        let count = failures()
        #expect((900...1100).contains(count), "\(count) of 10000")
        #expect(failures() == count)
    }
}
