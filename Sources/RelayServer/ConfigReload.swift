import Foundation
import RelayCore

/// What a config reload changed, and what it left for a restart.
public struct ReloadResult: Sendable, Equatable {
    /// Key paths that changed and took effect (`capi`, `crm`, `secrets`, …).
    public var changed: [String] = []
    /// Key paths that changed but keep their running value until a restart.
    public var needsRestart: [String] = []

    /// Keys a running relay cannot take yet: the listener, the journal and the feed are bound
    /// at start, and the consent, dedupe and LDU policies are built into the journal. Rules
    /// and pages are not here: a reload compiles them into a new mapper and swaps it between
    /// two webhooks.
    /// Extending reload to one of these means rebuilding that part and removing it from here.
    static let restartOnlyKeys = [
        // The journal, and this relay's name and lease in a shared one, are the journal's
        // connections and claims: a running relay keeps the ones it opened with.
        "listen", "journal", "node", "journal_lease_seconds", "http", "dedupe", "feed",
        "consent", "ldu",
        // Shadow mode decides at start whether a CAPI dispatcher runs at all; a reload that
        // could switch it silently would send live while the operator believes otherwise.
        "mode", "qa", "server_events", "capi_ingest", "crm_echo", "pixel_echo",
        // The delivery tick is fixed when the worker thread starts.
        "capi.flush_interval_seconds", "crm.flush_interval_seconds",
    ]

    static func compare(
        _ current: RelayConfiguration, _ next: RelayConfiguration, secretsChanged: Bool
    ) -> ReloadResult {
        var result = ReloadResult()
        for key in restartOnlyKeys {
            var probe = next
            probe.restore(key, from: current)
            if probe != next { result.needsRestart.append(key) }
        }
        var capi = next.capi
        capi.flushIntervalSeconds = current.capi.flushIntervalSeconds
        if capi != current.capi { result.changed.append("capi") }
        var crm = next.crm
        crm?.flushIntervalSeconds = current.crm?.flushIntervalSeconds ?? 1
        if let crm, let currentCRM = current.crm, crm != currentCRM { result.changed.append("crm") }
        if next.messenger != current.messenger { result.changed.append("messenger") }
        // Rules are compiled into a new mapper and swapped between two webhooks.
        if next.pages != current.pages { result.changed.append("pages") }
        if next.rules != current.rules { result.changed.append("rules") }
        if next.readiness != current.readiness { result.changed.append("readiness") }
        if next.shutdown != current.shutdown { result.changed.append("shutdown") }
        if secretsChanged { result.changed.append("secrets") }
        return result
    }
}

extension RelayConfiguration {
    /// Puts back the running value of a key a reload cannot change.
    mutating func restore(_ key: String, from current: RelayConfiguration) {
        switch key {
        case "listen": listen = current.listen
        case "journal": journal = current.journal
        case "node": node = current.node
        case "journal_lease_seconds": journalLeaseSeconds = current.journalLeaseSeconds
        case "http": http = current.http
        case "dedupe": dedupe = current.dedupe
        case "feed": feed = current.feed
        case "consent": consent = current.consent
        case "ldu": ldu = current.ldu
        case "mode": mode = current.mode
        case "qa": qa = current.qa
        case "server_events": serverEvents = current.serverEvents
        case "capi_ingest": capiIngest = current.capiIngest
        case "crm_echo": crmEcho = current.crmEcho
        case "pixel_echo": pixelEcho = current.pixelEcho
        case "capi.flush_interval_seconds":
            capi.flushIntervalSeconds = current.capi.flushIntervalSeconds
        case "crm.flush_interval_seconds":
            if let interval = current.crm?.flushIntervalSeconds {
                crm?.flushIntervalSeconds = interval
            }
        default: break
        }
    }
}

extension RelaySecrets {
    /// Whether two sets of secrets hold the same values; compared here so that no caller
    /// needs to see a value.
    func sameValues(as other: RelaySecrets) -> Bool {
        appSecret == other.appSecret && verifyToken == other.verifyToken
            && accessToken == other.accessToken && crmSecret == other.crmSecret
    }
}

/// Re-reads a config file and the secrets it names, and applies them to a running relay: the
/// one reload path, for SIGHUP today and for anything else that asks later.
public enum ConfigReload {
    /// - Returns: what changed; a config or a secret with an error changes nothing, and the
    ///   errors come back for the log.
    public static func perform(
        path: String, relay: Relay, environment: [String: String], logger: Logger
    ) -> Result<ReloadResult, ConfigErrors> {
        do {
            let configuration = try RelayConfiguration.load(path: path)
            let secrets = try RelaySecrets.resolve(
                configuration, environment: environment, file: path)
            return .success(relay.reload(configuration: configuration, secrets: secrets))
        } catch {
            relay.metrics.reloads.increment(["refused"])
            logger.error(
                "config reload refused; the running config stays",
                [("file", path), ("errors", "\(error.errors.count)")])
            // The same lines `config check` prints, so the fix is the same either way.
            for line in error.lines {
                logger.error("config problem", [("problem", line)])
            }
            return .failure(error)
        }
    }
}

/// SIGHUP as an event: `onReload` runs on a global queue for each one, as ordinary code.
public final class ReloadSignal: @unchecked Sendable {
    private var source: DispatchSourceSignal?

    public init(onReload: @escaping @Sendable () -> Void) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler(handler: onReload)
        source.resume()
        self.source = source
    }

    public func cancel() {
        source?.cancel()
        source = nil
        signal(SIGHUP, SIG_DFL)
    }
}
