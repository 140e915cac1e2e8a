import Foundation
import Glibc
import Synchronization
import Testing

@testable import RelayHTTP

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real server on loopback, port 0, driven by `RawHTTPClient`.
@Suite struct HTTPServerTests {
    /// Answers with the request body, and the method and path in headers.
    private static let echo: HTTPHandler = { request, responder in
        responder.respond(
            HTTPResponse(
                status: 200,
                headers: [
                    "X-Method": request.method, "X-Path": request.path,
                    "X-Remote": request.remoteAddress,
                ],
                body: request.body))
    }

    private func withServer(
        _ configuration: HTTPServerConfiguration = HTTPServerConfiguration(port: 0),
        handler: @escaping HTTPHandler = echo,
        _ body: (HTTPServer) throws -> Void
    ) throws {
        let server = HTTPServer(configuration: configuration, handler: handler)
        try server.start()
        defer { server.stop() }
        try body(server)
    }

    /// Polls until `condition` holds or two seconds pass; the server reacts on its own threads.
    private func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    // MARK: - Requests

    @Test func servesThreeRequestsOnOneKeepAliveConnection() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            for index in 1...3 {
                try client.send(
                    "POST /events/\(index) HTTP/1.1\r\nHost: relay\r\nContent-Length: 1\r\n\r\n"
                        + "\(index)")
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["X-Path"] == "/events/\(index)")
                #expect(response.text == "\(index)")
                #expect(response.headers["Date"]?.hasSuffix(" GMT") == true)
                #expect(response.headers["Connection"] == nil)
            }
            #expect(server.openConnectionCount == 1)
        }
    }

    @Test func keepsPipelinedResponsesInRequestOrder() throws {
        // The first request is answered last in time; its response must still come first.
        let handler: HTTPHandler = { request, responder in
            let delay = request.path == "/slow" ? 0.1 : 0
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
                responder.respond(.text(200, request.path))
            }
        }
        try withServer(handler: handler) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send(
                "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            #expect(try client.readResponse().text == "/slow\n")
            #expect(try client.readResponse().text == "/fast\n")
            let last = try client.readResponse()
            #expect(last.text == "/last\n")
            #expect(last.headers["Connection"] == "close")
            #expect(client.serverClosed())
        }
    }

    @Test func aClientSendingWhileItsRequestIsHeldDoesNotSpinTheLoop() throws {
        // Input stays watched while a request is with the handler. Bytes that come meanwhile,
        // a pipelined request or the end of input, must turn that off, or the level-triggered
        // event would wake the loop on every wait for as long as the handler takes.
        let handler: HTTPHandler = { request, responder in
            let delay = request.path == "/held" ? 0.3 : 0
            DispatchQueue.global().asyncAfter(deadline: .now() + delay) {
                responder.respond(.text(200, request.path))
            }
        }
        try withServer(handler: handler) { server in
            let pipelining = try RawHTTPClient(port: server.boundPort)
            try pipelining.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n")
            let closing = try RawHTTPClient(port: server.boundPort)
            try closing.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n")
            usleep(50_000)
            let before = server.eventLoopWakeUps
            try pipelining.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            closing.finishSending()
            usleep(150_000)
            // A spinning loop wakes tens of thousands of times in 150 ms; a quiet one a few.
            #expect(server.eventLoopWakeUps - before < 50)

            #expect(try pipelining.readResponse().text == "/held\n")
            #expect(try pipelining.readResponse().text == "/next\n")
            #expect(try closing.readResponse().text == "/held\n")
            #expect(closing.serverClosed())
        }
    }

    @Test func reassemblesAChunkedPost() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send(
                "POST /webhooks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "7\r\n{\"a\":1,\r\n")
            usleep(20_000)
            try client.send("8;ext=1\r\n\"b\":true\r\n1\r\n}\r\n0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == #"{"a":1,"b":true}"#)
        }
    }

    @Test func sends100ContinueBeforeReadingTheBody() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            let body = String(repeating: "e", count: 2000)
            try client.send(
                "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                    + "Content-Length: 2000\r\n\r\n")
            #expect(try client.readResponse().status == 100)
            try client.send(body)
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == body)
        }
    }

    @Test func answersFromAnotherThreadLater() throws {
        let handler: HTTPHandler = { request, responder in
            let started = Date()
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) {
                let waited = Date().timeIntervalSince(started)
                responder.respond(.text(202, "committed after \(waited >= 0.05 ? "50ms" : "less")"))
            }
        }
        try withServer(handler: handler) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 202)
            #expect(response.text == "committed after 50ms\n")
        }
    }

    @Test func givesEachRequestTheClientAddress() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let remote = try client.readResponse().headers["X-Remote"] ?? ""
            #expect(remote.hasPrefix("127.0.0.1:"))
            #expect(remote != "127.0.0.1:\(server.boundPort)")
        }
    }

    @Test func sendsNoBodyForHead() throws {
        try withServer(handler: { _, responder in responder.respond(.text(200, "hello")) }) {
            server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try client.readResponse(bodyless: true)
            #expect(head.headers["Content-Length"] == "6")
            // Had the body been sent, it would be read as the start of the next response.
            #expect(try client.readResponse().text == "hello\n")
        }
    }

    @Test func closesAfterAnHTTP10Request() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET /old HTTP/1.0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.headers["Connection"] == "close")
            #expect(client.serverClosed())
        }
    }

    @Test func writesAResponseLargerThanTheSocketBuffer() throws {
        // Several MiB cannot go out in one send, so this exercises the EPOLLOUT path.
        let body = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try withServer(handler: { _, responder in
            responder.respond(HTTPResponse(status: 200, body: body))
        }) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
            usleep(100_000)  // let the server fill the socket buffer before reading starts
            #expect(try client.readResponse().body == body)
            #expect(try client.readResponse().body == body)
        }
    }

    @Test func survivesClientsThatLeaveBeforeTheirResponse() throws {
        let answered = Atomic<Int>(0)
        let handler: HTTPHandler = { request, responder in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) {
                let size = request.path == "/big" ? 4 << 20 : 10
                let body = [UInt8](repeating: 7, count: size)
                responder.respond(HTTPResponse(status: 200, body: body))
                answered.add(1, ordering: .relaxed)
            }
        }
        try withServer(handler: handler) { server in
            // Writing into sockets the peer has closed fails with EPIPE or ECONNRESET; without
            // MSG_NOSIGNAL the first would kill the test process with SIGPIPE.
            for path in ["/small", "/big"] {
                let client = try RawHTTPClient(port: server.boundPort)
                try client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
                client.close()
            }
            #expect(eventually { answered.load(ordering: .relaxed) == 2 })
            #expect(eventually { server.openConnectionCount == 0 })

            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET /small HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().body.count == 10)
        }
    }

    @Test func worksWithURLSession() async throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(port: 0), handler: Self.echo)
        try server.start()
        defer { server.stop() }

        let url = try #require(URL(string: "http://127.0.0.1:\(server.boundPort)/urlsession?x=1"))
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(String(repeating: "u", count: 5000).utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200)
        #expect(http.value(forHTTPHeaderField: "X-Path") == "/urlsession")
        #expect(data.count == 5000)
    }

    // MARK: - Refusals

    @Test func refusesAnOversizedBodyWith413AndCloses() throws {
        let configuration = HTTPServerConfiguration(port: 0, maxBodyBytes: 1024)
        let handled = Atomic<Int>(0)
        let handler: HTTPHandler = { _, responder in
            handled.add(1, ordering: .relaxed)
            responder.respond(.text(200, "should not happen"))
        }
        try withServer(configuration, handler: handler) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
            try client.send(String(repeating: "x", count: 2000))
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.headers["Connection"] == "close")
            #expect(response.text.contains("1024"))
            #expect(client.serverClosed())
            #expect(handled.load(ordering: .relaxed) == 0)
        }
    }

    @Test func refusesMalformedRequestsAndKeepsServingOthers() throws {
        try withServer { server in
            let bad = try RawHTTPClient(port: server.boundPort)
            try bad.send("GET / HTTP/1.1\r\nHost: a\r\nNo-Colon-Here\r\n\r\n")
            let refusal = try bad.readResponse()
            #expect(refusal.status == 400)
            #expect(refusal.text == "header line without a colon\n")
            #expect(bad.serverClosed())

            let smuggler = try RawHTTPClient(port: server.boundPort)
            try smuggler.send(
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            #expect(try smuggler.readResponse().status == 400)

            let good = try RawHTTPClient(port: server.boundPort)
            try good.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try good.readResponse().headers["X-Path"] == "/next")
        }
    }

    @Test func refusesAnUnknownVersionWith505() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/3.0\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 505)
        }
    }

    @Test func answers408WhenTheHeadArrivesTooSlowly() throws {
        let configuration = HTTPServerConfiguration(port: 0, headerReadTimeout: 0.3)
        try withServer(configuration) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n")
            let started = Date()
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(Date().timeIntervalSince(started) >= 0.25)
            #expect(client.serverClosed())
            client.close()
            #expect(eventually { server.openConnectionCount == 0 })
        }
    }

    @Test func answers408WhenTheBodyArrivesTooSlowly() throws {
        let configuration = HTTPServerConfiguration(port: 0, bodyReadTimeout: 0.3)
        try withServer(configuration) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
            let response = try client.readResponse()
            #expect(response.status == 408)
            #expect(response.text == "request body not received within 0.3 seconds\n")
        }
    }

    @Test func closesAnIdleKeepAliveConnectionWithoutAResponse() throws {
        let configuration = HTTPServerConfiguration(port: 0, idleTimeout: 0.3)
        try withServer(configuration) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            // serverClosed() is false if any byte (a 408, say) arrives before the close.
            #expect(client.serverClosed())
        }
    }

    @Test func answers500WhenTheHandlerDropsItsResponder() throws {
        try withServer(handler: { _, _ in }) { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 500)
        }
    }

    // MARK: - Connections and lifecycle

    @Test func refusesConnectionsBeyondTheLimitWith503() throws {
        let configuration = HTTPServerConfiguration(port: 0, maxConnections: 2)
        try withServer(configuration) { server in
            let first = try RawHTTPClient(port: server.boundPort)
            let second = try RawHTTPClient(port: server.boundPort)
            for client in [first, second] {
                try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                #expect(try client.readResponse().status == 200)
            }
            #expect(server.openConnectionCount == 2)

            let third = try RawHTTPClient(port: server.boundPort)
            let refusal = try third.readResponse()
            #expect(refusal.status == 503)
            #expect(refusal.headers["Connection"] == "close")
            #expect(third.serverClosed())

            first.close()
            #expect(eventually { server.openConnectionCount == 1 })
            let fourth = try RawHTTPClient(port: server.boundPort)
            try fourth.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try fourth.readResponse().status == 200)
        }
    }

    @Test func stopAcceptingKeepsServingOpenConnections() throws {
        try withServer { server in
            let client = try RawHTTPClient(port: server.boundPort)
            try client.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().status == 200)

            server.stopAccepting()
            #expect(throws: RawHTTPClient.Failure.self) {
                _ = try RawHTTPClient(port: server.boundPort)
            }
            try client.send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().headers["X-Path"] == "/2")
        }
    }

    @Test func canStopAcceptingFromTheHandler() throws {
        let server = Mutex<HTTPServer?>(nil)
        let handler: HTTPHandler = { _, responder in
            server.withLock { $0 }?.stopAccepting()
            responder.respond(.text(200, "draining"))
        }
        try withServer(handler: handler) { running in
            server.withLock { $0 = running }
            defer { server.withLock { $0 = nil } }
            let client = try RawHTTPClient(port: running.boundPort)
            try client.send("POST /drain HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().text == "draining\n")
            #expect(eventually { (try? RawHTTPClient(port: running.boundPort)) == nil })
        }
    }

    @Test func stopClosesConnectionsAndFreesThePort() throws {
        // A handler that never answers: stop() must still return and close its connection.
        let parked = Mutex<[HTTPResponder]>([])
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0),
            handler: { _, responder in parked.withLock { $0.append(responder) } })
        try server.start()
        let port = server.boundPort
        #expect(port != 0)

        let client = try RawHTTPClient(port: port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(eventually { parked.withLock { $0.count } == 1 })

        server.stop()
        server.stop()
        #expect(client.serverClosed())
        #expect(server.openConnectionCount == 0)
        // Answering after stop() goes nowhere and must not crash.
        parked.withLock { $0.forEach { $0.respond(.text(200, "too late")) } }

        let successor = HTTPServer(
            configuration: HTTPServerConfiguration(port: port), handler: Self.echo)
        try successor.start()
        defer { successor.stop() }
        #expect(successor.boundPort == port)
    }

    @Test func reportsWhyItCannotListen() throws {
        try withServer { server in
            let rival = HTTPServer(
                configuration: HTTPServerConfiguration(port: server.boundPort), handler: Self.echo)
            #expect {
                try rival.start()
            } throws: { error in
                let error = error as? HTTPServerError
                return error?.code == .cannotListen
                    && error?.message
                        == "cannot listen on 127.0.0.1:\(server.boundPort): Address already in use"
            }
        }
    }

    @Test func refusesAnUnusableConfiguration() {
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0, eventLoopCount: 0),
            handler: Self.echo)
        let expected = HTTPServerError(
            .invalidConfiguration, "eventLoopCount must be between 1 and 64, got 0")
        #expect(throws: expected) {
            try server.start()
        }
    }

    // MARK: - Load

    @Test func answers2000RequestsOverEightKeepAliveConnections() throws {
        try withServer { server in
            let port = server.boundPort
            let correct = Atomic<Int>(0)
            let failures = Mutex<[String]>([])
            let finished = DispatchGroup()

            for connection in 0..<8 {
                finished.enter()
                Thread.detachNewThread {
                    defer { finished.leave() }
                    do {
                        let client = try RawHTTPClient(port: port)
                        for index in 0..<250 {
                            let body = "c\(connection)-r\(index)"
                            let length = body.utf8.count
                            try client.send(
                                "POST /load HTTP/1.1\r\nHost: a\r\nContent-Length: \(length)\r\n"
                                    + "\r\n\(body)")
                            let response = try client.readResponse()
                            if response.status == 200 && response.text == body {
                                correct.add(1, ordering: .relaxed)
                            }
                        }
                    } catch {
                        failures.withLock { $0.append("connection \(connection): \(error)") }
                    }
                }
            }
            finished.wait()
            #expect(failures.withLock { $0 } == [])
            #expect(correct.load(ordering: .relaxed) == 2000)
        }
    }
}
