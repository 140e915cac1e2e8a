import Foundation
import RelayCore
import RelayHTTP
import RelayJournal

/// The operations surface: `/healthz`, `/readyz`, `/metrics`, and the methods each route takes.
extension Relay {
    /// Every fixed path and the methods it answers; any other method gets 405 with `Allow`.
    /// The CAPI-compatible path (`/{version}/{dataset}/events`) takes POST too.
    static let allowedMethods: [String: [String]] = [
        "/healthz": ["GET", "HEAD"],
        "/readyz": ["GET", "HEAD"],
        "/metrics": ["GET"],
        "/webhooks/messenger": ["GET", "POST"],
        "/v1/events": ["POST"],
        "/v1/event-ids": ["POST"],
        "/webhooks/crm": ["POST"],
        "/v1/pixel-echo": ["POST", "OPTIONS"],
    ]

    /// The routes whose acknowledgement latency is measured, by path; the label is the route's
    /// name, so that a CAPI-compatible path with its dataset never becomes a label.
    static func ingestRoute(_ request: HTTPRequest) -> String? {
        guard request.method == "POST" else { return nil }
        switch request.path {
        case "/webhooks/messenger": return "messenger"
        case "/v1/events": return "server_events"
        case "/webhooks/crm": return "crm_echo"
        case "/v1/pixel-echo": return "pixel_echo"
        default: return CAPIIngestPath(request.path) == nil ? nil : "capi_ingest"
        }
    }

    /// The route's name for the responses counter: an ingest route, one of the fixed paths, or
    /// `other` (a path the relay does not serve is the sender's text, never a label).
    static func routeLabel(_ request: HTTPRequest) -> String {
        if let route = ingestRoute(request) { return route }
        switch request.path {
        case "/healthz": return "healthz"
        case "/readyz": return "readyz"
        case "/metrics": return "metrics"
        case "/webhooks/messenger": return "messenger"
        case "/v1/events": return "server_events"
        case "/v1/event-ids": return "event_ids"
        case "/webhooks/crm": return "crm_echo"
        case "/v1/pixel-echo": return "pixel_echo"
        default: return CAPIIngestPath(request.path) == nil ? "other" : "capi_ingest"
        }
    }

    /// 405 with the methods the path takes, or nil when the path is not one of ours.
    static func methodNotAllowed(_ request: HTTPRequest) -> HTTPResponse? {
        let allowed =
            allowedMethods[request.path]
            ?? (CAPIIngestPath(request.path) == nil ? nil : ["POST"])
        guard let allowed, !allowed.contains(request.method) else { return nil }
        var response = HTTPResponse.text(
            405,
            "method \(request.method) is not allowed on \(request.path); use "
                + allowed.joined(separator: " or "))
        response.headers.add(name: "Allow", value: allowed.joined(separator: ", "))
        return response
    }

    /// A responder that counts the answer by route and status and, for an ingest route,
    /// observes the time from now to the answer.
    func measured(_ responder: HTTPResponder, _ request: HTTPRequest) -> HTTPResponder {
        let started = DispatchTime.now().uptimeNanoseconds
        let ingest = Relay.ingestRoute(request)
        let route = Relay.routeLabel(request)
        let (histogram, responses) = (metrics.acknowledgementLatency, metrics.responses)
        return HTTPResponder { response in
            if let ingest {
                let elapsed = DispatchTime.now().uptimeNanoseconds - started
                histogram.observe([ingest], Double(elapsed) / 1e9)
            }
            responses.increment([route, String(response.status)])
            responder.respond(response)
        }
    }

    // MARK: Readiness

    /// The journal as the health checks see it; a journal backend must answer these too.
    var healthJournal: any JournalHealth { journal }

    /// Gathers what `/readyz` judges: a journal write probe, draining, paused destinations and
    /// the backlog per destination.
    func readinessChecks() -> [ReadinessCheck] {
        let configuration = liveSettings.configuration
        let settings = configuration.readiness
        let draining = stateLock.withLock { self.draining }

        // A probe that waits behind every queued append: a writer slower than the timeout
        // acknowledges webhooks too slowly for Meta as well.
        let probe = healthJournal.probeWritable(timeoutSeconds: settings.journalTimeoutSeconds)
        var journalProblem = probe.map { "not writable: \($0.message)" }

        var backlog: [String: Int]? = [:]
        let destinations: [Destination] = configuration.crm == nil ? [.capi] : [.capi, .crm]
        do {
            for destination in destinations {
                let pending = try healthJournal.pendingSummary(for: destination)
                backlog?[destination.rawValue] = pending.reduce(0) { $0 + $1.count }
            }
        } catch {
            journalProblem = journalProblem ?? "not readable: \(error.message)"
            backlog = nil
        }
        return Readiness.checks(
            Readiness.Inputs(
                draining: draining, journalProblem: journalProblem, paused: health.pausedReasons,
                backlog: backlog, maxBacklog: settings.maxBacklog))
    }

    func answerReadiness(_ responder: HTTPResponder) {
        // The probe waits on the journal's writer: off the event loop, which must keep serving.
        DispatchQueue.global().async { [self] in
            let checks = readinessChecks()
            let response = Readiness.response(checks)
            if response.status != 200 {
                logger.debug(
                    "not ready",
                    [("failing", checks.filter { !$0.passed }.map(\.name).joined(separator: ","))])
            }
            responder.respond(response)
        }
    }

    // MARK: Metrics

    func answerMetrics(_ responder: HTTPResponder) {
        DispatchQueue.global().async { [self] in
            let text = PrometheusText.render(metricFamilies(nowMillis: currentMillis()))
            responder.respond(
                HTTPResponse(
                    status: 200, headers: ["Content-Type": PrometheusText.contentType],
                    body: Array(text.utf8)))
        }
    }

    private func currentMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The counters, then gauges read now: queue depth and oldest pending age per destination
    /// and dataset, paused per destination, draining, and the build.
    func metricFamilies(nowMillis: Int64) -> [MetricFamily] {
        let configuration = liveSettings.configuration
        let labels = metrics.labelPolicy
        var depth = MetricFamily(
            name: "capi_relay_queue_depth",
            help: "Conversions waiting for delivery, by destination and dataset.", kind: .gauge,
            samples: [])
        var age = MetricFamily(
            name: "capi_relay_oldest_pending_age_seconds",
            help: "Age of the oldest conversion waiting, by destination and dataset; 0 when none"
                + " waits.",
            kind: .gauge, samples: [])
        var destinations: [Destination] = [.capi]
        if configuration.crm != nil { destinations.append(.crm) }
        for destination in destinations {
            // Every configured dataset shows, at 0 when idle, so that an alert on the gauge has
            // a series to watch before the first event.
            var byDataset: [String: (count: Int, oldest: Int64?)] = [:]
            for dataset in labels.datasets { byDataset[dataset] = (0, nil) }
            let summaries = (try? healthJournal.pendingSummary(for: destination)) ?? []
            for summary in summaries {
                let dataset = labels.dataset(summary.dataset)
                let previous = byDataset[dataset] ?? (0, nil)
                byDataset[dataset] = (
                    previous.count + summary.count,
                    min(previous.oldest ?? .max, summary.oldestJournaledAtMillis)
                )
            }
            for dataset in byDataset.keys.sorted() {
                let entry = byDataset[dataset]!
                let sampleLabels = [("destination", destination.rawValue), ("dataset", dataset)]
                depth.samples.append(.init(labels: sampleLabels, value: Double(entry.count)))
                let seconds = entry.oldest.map { Double(max(0, nowMillis - $0)) / 1000 } ?? 0
                age.samples.append(.init(labels: sampleLabels, value: seconds))
            }
        }

        let pausedReasons = health.pausedReasons
        let paused = MetricFamily(
            name: "capi_relay_destination_paused",
            help: "1 while a destination is paused because its credentials were refused.",
            kind: .gauge,
            samples: destinations.map {
                .init(
                    labels: [("destination", $0.rawValue)],
                    value: pausedReasons[$0.rawValue] == nil ? 0 : 1)
            })
        let draining = MetricFamily(
            name: "capi_relay_draining", help: "1 while the relay shuts down and refuses intake.",
            kind: .gauge,
            samples: [.init(labels: [], value: stateLock.withLock { self.draining } ? 1 : 0)])
        let started = MetricFamily(
            name: "process_start_time_seconds",
            help: "When the relay process started, in Unix seconds.", kind: .gauge,
            samples: [.init(labels: [], value: metrics.startedAt.timeIntervalSince1970.rounded())])
        let info = MetricFamily(
            name: "capi_relay_build_info", help: "The running version; always 1.", kind: .gauge,
            samples: [.init(labels: [("version", RelayVersion.current)], value: 1)])
        return metrics.families + [depth, age, paused, draining, started, info]
    }
}
