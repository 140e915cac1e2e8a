import Testing

@testable import RelayDelivery
@testable import RelayServer

/// When the health tracker declares an outage, and when it does not.
@Suite struct DestinationHealthTests {
    func failure(_ failureClass: FailureClass, status: Int? = 503) -> DeliveryEvent {
        .attemptFailed(
            destination: "capi", dataset: "880", eventIDs: ["e"], status: status, code: nil,
            subcode: nil, message: "m", nextRetryMillis: nil, failureClass: failureClass)
    }

    @Test func threeTransientFailuresInARowAreAnOutageAndASuccessEndsIt() {
        let health = DestinationHealth()
        #expect(health.observe(failure(.transient), atMillis: 1).isEmpty)
        #expect(health.observe(failure(.transient, status: nil), atMillis: 2).isEmpty)
        let outage = health.observe(failure(.transient), atMillis: 3)
        #expect(outage.map(\.0) == [.outage])

        let sent = DeliveryEvent.sent(
            destination: "capi", dataset: "880", eventIDs: ["e"], status: 200, eventsReceived: 1,
            fbtraceID: nil)
        let recovered = health.observe(sent, atMillis: 10)
        #expect(recovered.map(\.0) == [.recovered])
    }

    @Test func batchesRefusedForAnInvalidEventAreNoOutage() {
        // Bisection answers each half with a 400; the destination is plainly up.
        let health = DestinationHealth()
        for millis in 1...10 {
            #expect(
                health.observe(failure(.invalidEvents, status: 400), atMillis: Int64(millis))
                    .isEmpty)
        }
    }
}
