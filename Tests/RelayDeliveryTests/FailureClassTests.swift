import Testing

@testable import RelayDelivery

/// The error classes and the backoff steps, as pure functions: no journal, no sockets.
@Suite struct FailureClassTests {
    func graph(_ status: Int, code: Int, subcode: Int? = nil, transient: Bool? = nil)
        -> DeliveryFailure
    {
        var members = #""message":"m","type":"OAuthException","code":\#(code)"#
        if let subcode { members += #","error_subcode":\#(subcode)"# }
        if let transient { members += #","is_transient":\#(transient)"# }
        return DeliveryFailure.graph(
            status: status, body: Array("{\"error\":{\(members)}}".utf8), retryAfter: nil)
    }

    @Test func transientGraphCodesAreRetriedWhateverTheStatus() {
        for code in [1, 2, 4, 17, 32, 341, 368, 613, 80004] {
            #expect(graph(400, code: code).failureClass == .transient, "code \(code)")
            #expect(graph(500, code: code).failureClass == .transient, "code \(code)")
        }
    }

    @Test func code100IsAnInvalidEventExceptAMissingObject() {
        #expect(graph(400, code: 100, subcode: 2_804_003).failureClass == .invalidEvents)
        #expect(graph(400, code: 100).failureClass == .invalidEvents)
        #expect(graph(400, code: 100, subcode: 33).failureClass == .permanent)
    }

    @Test func badTokensPause() {
        for subcode in [458, 459, 460, 463, 464, 467, 492] {
            #expect(graph(400, code: 190, subcode: subcode).failureClass == .badCredentials)
        }
        #expect(graph(400, code: 102).failureClass == .badCredentials)
        #expect(DeliveryFailure.crm(status: 401, retryAfter: nil).failureClass == .badCredentials)
    }

    @Test func otherCodesArePermanentUnlessGraphSaysTransient() {
        for code in [3, 10, 200, 299, 506] {
            #expect(graph(400, code: code).failureClass == .permanent, "code \(code)")
        }
        #expect(graph(400, code: 9_999, transient: true).failureClass == .transient)
        #expect(
            graph(400, code: 190, transient: true).failureClass == .badCredentials,
            "a known code wins over the hint")
    }

    @Test func withoutAGraphBodyTheStatusDecides() {
        for status in [500, 502, 503, 504, 408, 429] {
            let failure = DeliveryFailure.graph(status: status, body: [], retryAfter: nil)
            #expect(failure.failureClass == .transient, "status \(status)")
            #expect(failure.reasonCode == "http_\(status)")
        }
        for status in [400, 403, 404, 413] {
            #expect(
                DeliveryFailure.graph(status: status, body: [], retryAfter: nil).failureClass
                    == .permanent)
        }
        #expect(DeliveryFailure.crm(status: 422, retryAfter: nil).failureClass == .permanent)
        #expect(DeliveryFailure.crm(status: 503, retryAfter: "2").retryAfterSeconds == 2)
        let timeout = DeliveryFailure.transport(TransportFailure(timedOut: true, message: "t"))
        #expect(timeout.failureClass == .transient)
        #expect(timeout.reasonCode == "transport")
    }

    @Test func eachClassHasOnePlan() {
        #expect(FailurePlan.plan(for: graph(500, code: 2), batchSize: 10) == .retry)
        #expect(FailurePlan.plan(for: graph(400, code: 100), batchSize: 10) == .bisect)
        #expect(FailurePlan.plan(for: graph(400, code: 100), batchSize: 1) == .deadLetter)
        #expect(FailurePlan.plan(for: graph(400, code: 190), batchSize: 10) == .pause)
        #expect(FailurePlan.plan(for: graph(400, code: 10), batchSize: 10) == .deadLetter)
    }

    @Test func backoffDoublesWithinItsJitterBandIsCappedAndGivesUp() {
        let policy = RetryPolicy(baseSeconds: 1, maxSeconds: 10, maxAttempts: 6)
        // The band after attempt n is [c/2, c], c = min(10, 2^(n-1)).
        let low = (1...5).map {
            policy.step(afterAttempts: $0, retryAfter: nil, nowMillis: 0, unit: 0)
        }
        let high = (1...5).map {
            policy.step(afterAttempts: $0, retryAfter: nil, nowMillis: 0, unit: 1)
        }
        #expect(low == [500, 1000, 2000, 4000, 5000].map { .retry(atMillis: $0) })
        #expect(high == [1000, 2000, 4000, 8000, 10000].map { .retry(atMillis: $0) })
        #expect(policy.step(afterAttempts: 6, retryAfter: nil, nowMillis: 0, unit: 0.5) == .giveUp)
        #expect(policy.minimumDelay(afterAttempts: 3) == 2)
        #expect(policy.minimumDelay(afterAttempts: 40) == 5)
    }

    @Test func retryAfterWinsWhenLonger() {
        let policy = RetryPolicy(baseSeconds: 1, maxSeconds: 10, maxAttempts: 6)
        #expect(
            policy.step(afterAttempts: 1, retryAfter: 30, nowMillis: 1000, unit: 1)
                == .retry(atMillis: 31_000))
        #expect(
            policy.step(afterAttempts: 5, retryAfter: 1, nowMillis: 0, unit: 1)
                == .retry(atMillis: 10_000), "a shorter Retry-After does not shorten the backoff")
        #expect(RetryPolicy.retryAfterSeconds(" 7 ") == 7)
        #expect(RetryPolicy.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(RetryPolicy.retryAfterSeconds("99999") == 3600)
        #expect(RetryPolicy.retryAfterSeconds("-1") == nil)
    }
}
