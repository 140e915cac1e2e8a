import Foundation
import RelayJournal
import RelayTestSupport
import Testing

@testable import RelayServer

/// The config keys of a shared journal: `journal` as a URL, `node`, `journal_lease_seconds`.
@Suite struct SharedJournalConfigurationTests {
    func config(_ members: String) -> String {
        """
        { \(members),
          "pages": [{ "page_id": "1", "dataset": "2" }],
          "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }] }
        """
    }

    func problems(_ members: String) -> [String] {
        do {
            _ = try RelayConfiguration.parse(Data(config(members).utf8), file: nil)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aPostgresURLPicksTheSharedJournalAndAPathSQLite() throws {
        let shared = try RelayConfiguration.parse(
            Data(
                config(#""journal": "postgresql://db.internal/capi_relay", "node": "relay-1""#).utf8
            ),
            file: nil)
        #expect(shared.journalLocation == .postgres(url: "postgresql://db.internal/capi_relay"))
        #expect(shared.nodeName == "relay-1")
        let embedded = try RelayConfiguration.parse(
            Data(config(#""journal": "/var/lib/capi-relay/journal.sqlite""#).utf8), file: nil)
        #expect(embedded.journalLocation == .sqlite(path: "/var/lib/capi-relay/journal.sqlite"))
        #expect(!embedded.nodeName.isEmpty, "a relay without a node name gets one")
    }

    @Test func aMalformedURLOrNodeOrLeaseIsAConfigErrorThatNeverShowsThePassword() {
        let noDatabase = problems(#""journal": "postgres://relay:hunter2@db.internal""#)
        #expect(noDatabase.count == 1)
        #expect(noDatabase.first?.contains("names no database") == true, "\(noDatabase)")
        #expect(noDatabase.allSatisfy { !$0.contains("hunter2") })

        #expect(
            problems(#""journal": "postgres:///capi_relay""#).first?.contains("names no host")
                == true)
        #expect(problems(#""journal": "postgres:///capi_relay?host=/run/postgresql""#).isEmpty)
        #expect(problems(#""journal": "postgres://db/j", "node": "relay one""#).count == 1)
        // A claim shorter than a request could run out while the request is on the wire.
        let short = problems(#""journal": "postgres://db/j", "journal_lease_seconds": 2"#)
        #expect(short.first?.contains("capi.timeout_seconds") == true, "\(short)")
        #expect(problems(#""journal": "/tmp/j.sqlite", "journal_lease_seconds": 2"#).isEmpty)
    }

    @Test func theFeedSocketOfASharedJournalSitsBesideTheConfig() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("capi-relay.json")
        try config(#""journal": "postgres://db.internal/capi_relay""#)
            .write(to: file, atomically: true, encoding: .utf8)

        let configuration = try RelayConfiguration.load(path: file.path)
        #expect(configuration.journal == "postgres://db.internal/capi_relay")
        #expect(
            configuration.feedSocketPath == directory.appendingPathComponent("capi-relay.sock").path
        )
    }

    @Test func theSharedJournalKeysWaitForARestart() throws {
        let current = try RelayConfiguration.parse(
            Data(config(#""journal": "postgres://db/a", "node": "relay-1""#).utf8), file: nil)
        let next = try RelayConfiguration.parse(
            Data(
                config(
                    #""journal": "postgres://db/b", "node": "relay-2", "journal_lease_seconds": 60"#
                ).utf8),
            file: nil)
        let result = ReloadResult.compare(current, next, secretsChanged: false)
        #expect(Set(result.needsRestart) == ["journal", "node", "journal_lease_seconds"])
    }

    @Test func configCheckNamesTheSharedJournalWithoutItsPassword() throws {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("shared-\(UUID().uuidString).json")
        try config(
            #""journal": "postgres://relay:hunter2@db.internal:5432/capi_relay", "node": "relay-1""#
        )
        .write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let check = try TestProcess(
            ["config", "check", file.path],
            environment: [
                "CAPI_RELAY_APP_SECRET": "a", "CAPI_RELAY_VERIFY_TOKEN": "b",
                "CAPI_RELAY_ACCESS_TOKEN": "c",
            ])
        #expect(try check.waitForExit() == 0)
        #expect(
            check.stdout == """
                \(file.path): journal postgres://db.internal:5432/capi_relay, shared, as node \
                relay-1, claims lasting 30.0s
                \(file.path): ok

                """)
        #expect(check.stderr.contains("the URL holds a password; give it in PGPASSWORD"))
        #expect(!(check.stdout + check.stderr).contains("hunter2"))
    }

    @Test func serveWithAnUnreachableDatabaseSaysWhichWithoutThePasswordAndExits() throws {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("shared-\(UUID().uuidString).json")
        try config(
            #""journal": "postgres://relay:hunter2@127.0.0.1:1/capi_relay?connect_timeout=2""#
        ).write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }

        let serve = try TestProcess(
            ["serve", "--config", file.path],
            environment: [
                "CAPI_RELAY_APP_SECRET": "a", "CAPI_RELAY_VERIFY_TOKEN": "b",
                "CAPI_RELAY_ACCESS_TOKEN": "c",
            ])
        #expect(try serve.waitForExit() != 0)
        #expect(serve.stderr.contains("127.0.0.1:1/capi_relay"), "\(serve.stderr)")
        #expect(!(serve.stdout + serve.stderr).contains("hunter2"))
    }
}
