import Foundation
import RelayTestSupport
import Testing

/// `/healthz`, `/readyz` and the 405 answers, on a real relay and sandbox.
@Suite(.serialized) struct HealthEndpointTests {
    @Test func aWrongMethodOnAKnownRouteIs405WithAllowAndAnUnknownPathIs404() throws {
        let stack = try RelayStack()
        defer { stack.stop() }
        let port = stack.relayPort

        for (method, path, allow) in [
            ("GET", "/v1/events", "POST"), ("DELETE", "/webhooks/messenger", "GET, POST"),
            ("POST", "/healthz", "GET, HEAD"), ("POST", "/readyz", "GET, HEAD"),
            ("PUT", "/metrics", "GET"), ("GET", "/webhooks/crm", "POST"),
            ("GET", "/v1/pixel-echo", "POST, OPTIONS"),
            ("GET", "/v25.0/880000000000001/events", "POST"),
        ] {
            let response = try RawHTTP.request(port: port, method: method, path: path)
            #expect(response.status == 405, "\(method) \(path)")
            #expect(response.header("Allow") == allow, "\(method) \(path)")
            #expect(
                response.body.contains("use \(allow.replacingOccurrences(of: ", ", with: " or "))"))
        }
        #expect(try RawHTTP.get(port: port, "/nowhere").status == 404)
        let health = try RawHTTP.get(port: port, "/healthz")
        #expect(health.status == 200 && health.body == "ok\n")
        let ready = try RawHTTP.get(port: port, "/readyz")
        #expect(ready.status == 200, "\(ready.body)")
        #expect(ready.body.hasPrefix("ready\nok   journal: writable\n"))

        // Each answer is counted by route and status; a path nobody serves is "other".
        let scrape = try PrometheusScrape(try MetricsEndpointTests.scrape(stack))
        #expect(
            scrape.value("capi_relay_http_responses_total", ["route": "other", "code": "404"]) == 1)
        #expect(
            scrape.value(
                "capi_relay_http_responses_total", ["route": "capi_ingest", "code": "405"])
                == 1)
        #expect(
            scrape.value("capi_relay_http_responses_total", ["route": "readyz", "code": "200"]) == 1
        )
        #expect(!scrape.series.keys.contains { $0.contains("nowhere") })
        // Every wrong method above is counted under its own route, not as a stranger's path.
        for route in [
            "server_events", "messenger", "healthz", "readyz", "metrics", "crm_echo", "pixel_echo",
        ] {
            #expect(
                scrape.value("capi_relay_http_responses_total", ["route": route, "code": "405"])
                    == 1, "\(route)")
        }
        #expect(
            scrape.value("capi_relay_http_responses_total", ["route": "other", "code": "405"]) == 0)
    }

    @Test func readyzFailsWhileAPausedDestinationBacksUpAndRecoversAfterAReloadWithAFixedToken()
        throws
    {
        let stack = try RelayStack(
            extraConfig: #""readiness": { "max_backlog": 2 }"#,
            relayAccessToken: "expired-token-0000")
        defer { stack.stop() }

        // Meta (the sandbox) refuses the token with code 190: CAPI pauses, three leads wait.
        _ = try LeadLoad.post(3, perWebhook: 1, tag: "ready", to: stack)
        var body = ""
        #expect(
            try eventually {
                let response = try RawHTTP.get(port: stack.relayPort, "/readyz")
                body = response.body
                return response.status == 503 && body.hasPrefix("not ready: paused, backlog\n")
            }, "readyz said: \(body)")
        #expect(body.contains("FAIL paused: capi paused: http 400 code=190"))
        #expect(body.contains("FAIL backlog: capi 3, crm 0 pending, threshold 2 per destination"))
        #expect(!body.contains("expired-token-0000"), "the body never shows the token")
        #expect(try RawHTTP.get(port: stack.relayPort, "/healthz").status == 200, "still alive")
        let paused = try PrometheusScrape(try MetricsEndpointTests.scrape(stack))
        #expect(paused.value("capi_relay_destination_paused", ["destination": "capi"]) == 1)
        #expect(
            paused.value(
                "capi_relay_queue_depth",
                ["destination": "capi", "dataset": RelayStack.dataset]) == 3)
        #expect(
            paused.value(
                "capi_relay_oldest_pending_age_seconds",
                ["destination": "capi", "dataset": RelayStack.dataset]) > 0)

        // The fixed token and SIGHUP: delivery resumes, the backlog drains, ready again.
        try stack.writeAccessToken(RelayStack.accessToken)
        stack.relay.kill(SIGHUP)
        #expect(
            try eventually {
                let response = try RawHTTP.get(port: stack.relayPort, "/readyz")
                body = response.body
                return response.status == 200
            }, "readyz said: \(body)\nrelay stderr:\n\(stack.relay.stderr)")
        #expect(try stack.counters().capiSent == 3)
        let resumed = try PrometheusScrape(try MetricsEndpointTests.scrape(stack))
        #expect(resumed.value("capi_relay_destination_paused", ["destination": "capi"]) == 0)
    }

    @Test func readyzFailsAsSoonAsSIGTERMStartsTheDrain() throws {
        let stack = try RelayStack(extraConfig: #""shutdown": { "deadline_seconds": 6 }"#)
        defer { stack.stop() }

        // A slow Meta keeps one batch on the wire, so the drain lasts a few seconds.
        try stack.setFaults(#"{"capi": {"latency_ms": 3000}}"#)
        _ = try LeadLoad.post(1, perWebhook: 1, tag: "drain", to: stack)
        Thread.sleep(forTimeInterval: 0.5)
        stack.relay.kill(SIGTERM)

        var body = ""
        #expect(
            try eventually(timeout: 2.5) {
                let response = try RawHTTP.get(port: stack.relayPort, "/readyz")
                body = response.body
                return response.status == 503
            }, "readyz said: \(body)")
        #expect(body.hasPrefix("not ready: draining\n"))
        #expect(try stack.relay.waitForExit() == 0)
    }
}
