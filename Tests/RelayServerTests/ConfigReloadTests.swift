import Foundation
import Testing

@testable import RelayServer

/// What a reload takes live and what it leaves for a restart, without a running relay.
@Suite struct ConfigReloadTests {
    func example() throws -> RelayConfiguration {
        try RelayConfiguration.parse(Data(ExampleConfiguration.text.utf8), file: nil)
    }

    @Test func rulesDeliverySettingsAndSecretsTakeEffectTheRestWaitsForARestart() throws {
        let current = try example()
        var next = current
        next.capi.timeoutSeconds = 3
        next.capi.concurrency = 4
        next.listen = "127.0.0.1:9999"
        next.rules.removeLast()
        next.capi.flushIntervalSeconds = 5
        let result = ReloadResult.compare(current, next, secretsChanged: true)
        #expect(result.changed == ["capi", "rules", "secrets"])
        #expect(result.needsRestart == ["listen", "capi.flush_interval_seconds"])

        var applied = next
        for key in result.needsRestart { applied.restore(key, from: current) }
        #expect(applied.listen == current.listen)
        #expect(applied.rules == next.rules)
        #expect(applied.capi.flushIntervalSeconds == current.capi.flushIntervalSeconds)
        #expect(applied.capi.timeoutSeconds == 3)
    }

    @Test func switchingToShadowModeWaitsForARestartAndSaysSo() throws {
        let current = try example()
        var next = current
        next.mode = RelayConfiguration.shadowMode
        let result = ReloadResult.compare(current, next, secretsChanged: false)
        #expect(result.needsRestart == ["mode"])
        var applied = next
        for key in result.needsRestart { applied.restore(key, from: current) }
        #expect(!applied.isShadow)
    }

    @Test func everyTopLevelKeyIsEitherReloadedOrNamedForARestart() {
        let reloaded: Set = ["capi", "crm", "messenger", "shutdown", "rules", "pages", "readiness"]
        let restartOnly = Set(ReloadResult.restartOnlyKeys.map { String($0.prefix { $0 != "." }) })
        let unclassified = RelayConfiguration.CodingKeys.allCases.map(\.rawValue).filter {
            !reloaded.contains($0) && !restartOnly.contains($0)
        }
        #expect(unclassified.isEmpty, "a reload would ignore these silently: \(unclassified)")
    }

    @Test func anUnchangedConfigChangesNothing() throws {
        let result = ReloadResult.compare(try example(), try example(), secretsChanged: false)
        #expect(result == ReloadResult())
    }

    @Test func newDeliveryKeysAreCheckedWithTheirPaths() throws {
        var configuration = try example()
        configuration.capi.concurrency = 0
        configuration.capi.requestsPerSecond = 0
        configuration.crm?.backoffMaxSeconds = 0.5
        configuration.shutdown.deadlineSeconds = -1
        let paths = configuration.problems().map(\.path)
        #expect(
            paths == [
                "capi.concurrency", "capi.requests_per_second", "shutdown.deadline_seconds",
                "crm.backoff_max_seconds",
            ])
    }

    @Test func sinceTakesTimesAndAges() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let twoHoursAgo: Int64 = 1_799_992_800_000
        let sevenDaysAgo: Int64 = 1_799_395_200_000
        #expect(DeadLetterResend.parseSince("2h", now: now) == twoHoursAgo)
        #expect(DeadLetterResend.parseSince("7d", now: now) == sevenDaysAgo)
        #expect(DeadLetterResend.parseSince("2027-01-15T08:00:00Z") == 1_800_000_000_000)
        #expect(DeadLetterResend.parseSince("2027-01-15") == 1_799_971_200_000)
        #expect(DeadLetterResend.parseSince("yesterday") == nil)
        #expect(DeadLetterResend.bar(settled: 1, of: 4, width: 8) == "[##------] 1/4")
    }
}
