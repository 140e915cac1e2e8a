import Foundation
import RelayJournal
import Testing

@testable import RelayServer

@Suite struct RelayConfigurationTests {
    @Test func theExampleConfigPassesTheCheck() throws {
        let configuration = try RelayConfiguration.parse(
            Data(ExampleConfiguration.text.utf8), file: "example")
        #expect(configuration.pages.count == 2)
        #expect(
            Set(configuration.datasets.values) == ["880000000000001"], "two pages share a dataset")
        #expect(configuration.rules.map(\.event).contains("Purchase"))
        #expect(configuration.crm?.url == "http://127.0.0.1:9090/crm")
    }

    @Test func theReadmeShowsTheSameExampleConfig() throws {
        let readme = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        #expect(
            text.contains(ExampleConfiguration.text),
            "README.md must embed `capi-relay config example` verbatim")
    }

    @Test func missingFieldsKeepTheirDefaults() throws {
        let text = """
            { "pages": [{ "page_id": "1", "dataset": "2" }],
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }] }
            """
        let configuration = try RelayConfiguration.parse(Data(text.utf8), file: nil)
        #expect(configuration.capi.apiVersion == "v25.0")
        #expect(configuration.capi.timeoutSeconds == 1.5)
        #expect(configuration.dedupe.windowHours == 168)
        #expect(configuration.http.maxBodyBytes == 1 << 20)
        #expect(configuration.crm == nil)
    }

    @Test func everyProblemIsReportedAtOnceWithItsKeyPath() {
        let text = """
            {
              // comments are allowed
              "listen": "nowhere",
              "pages": [{ "page_id": "abc", "dataset": "2" }],
              "capi": { "api_version": "25", "batch_size": 5000, "flush_intervall_seconds": 1 },
              "dedupe": { "window_hours": 24 },
              "rules": [
                { "name": "r", "when": {}, "event": "Lead" },
                { "name": "r", "when": { "text": "(" }, "event": "Lead", "currency": "dollars" }
              ]
            }
            """
        do {
            _ = try RelayConfiguration.parse(Data(text.utf8), file: "bad.json")
            Issue.record("the config must be rejected")
        } catch {
            #expect(
                error.description == """
                    bad.json:3: listen: 'nowhere' is not host:port, e.g. 127.0.0.1:8080
                    bad.json:4: pages[0].page_id: 'abc' is not a numeric page id
                    bad.json:5: capi.flush_intervall_seconds: unknown key; did you mean \
                    'flush_interval_seconds'?
                    bad.json:5: capi.api_version: '25' is not a Graph version like v25.0
                    bad.json:5: capi.batch_size: 5000 is outside 1…1000 (Meta's limit)
                    bad.json:6: dedupe.window_hours: 24 hours is too short; use at least 48, the \
                    window Meta itself applies to pixel and server copies of an event
                    bad.json:8: rules[0].when: has no condition
                    bad.json:9: rules[1].name: rule name 'r' is used twice
                    bad.json:9: rules[1].currency: 'dollars' is not a 3-letter ISO 4217 code
                    bad.json:9: rules[1].when.text: '(' is not a valid regular expression
                    """)
        }
    }

    @Test func secretsAreReadFromTheEnvironmentAndMissingOnesAreNamedNotShown() {
        let configuration = RelayConfiguration()
        do {
            _ = try RelaySecrets.resolve(
                configuration, environment: ["CAPI_RELAY_APP_SECRET": "s3cr3t"], file: "c.json")
            Issue.record("missing secrets must be reported")
        } catch {
            let text = error.description
            #expect(
                text.contains(
                    "messenger.verify_token: no value in environment variable CAPI_RELAY_VERIFY_TOKEN"
                ))
            #expect(
                text.contains(
                    "capi.access_token: no value in environment variable CAPI_RELAY_ACCESS_TOKEN"))
            #expect(!text.contains("s3cr3t"))
        }
    }

    @Test func aSecretPastedIntoTheConfigIsRefusedWithWhatToDoInstead() {
        let text = """
            { "capi": { "access_token": "EAAB-pasted" },
              "pages": [{ "page_id": "1", "dataset": "2" }],
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }] }
            """
        do {
            _ = try RelayConfiguration.parse(Data(text.utf8), file: "c.json")
            Issue.record("a literal secret must be refused")
        } catch {
            #expect(
                error.description.hasPrefix(
                    "c.json:1: capi.access_token: a secret is never written in the config"))
            #expect(!error.description.contains("EAAB-pasted"))
        }
    }

    @Test func aRelativeJournalPathIsTakenFromTheConfigsDirectory() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("capi-relay.json")
        try ExampleConfiguration.text.write(to: file, atomically: true, encoding: .utf8)

        let configuration = try RelayConfiguration.load(path: file.path)
        #expect(configuration.journal == directory.appendingPathComponent("capi-relay.sqlite").path)
    }

    @Test func secretsCanComeFromFiles() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "secret-\(UUID().uuidString)")
        try "from-a-file\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try SecretSource(file: file.path).resolve(environment: [:]) == "from-a-file")
    }

    @Test func thePipelineSectionsReportUnknownKeysAndBadValuesByPath() {
        let text = """
            { "pages": [{ "page_id": "1", "dataset": "2" }],
              "server_events": { "tokn": { "env": "X" }, "dataset": "abc" },
              "capi_ingest": { "consent": "yes" },
              "crm_echo": { "stages": [{ "stage": "won", "event": "Purchase", "curency": "USD" }] },
              "pixel_echo": { "allowed_origins": ["lp.example"] },
              "dedupe": { "rules": ["event_id", "fingerprint"], "identity_window_hours": 0 },
              "rules": [{ "name": "r", "when": { "postback": "X" }, "event": "Lead" }] }
            """
        do {
            _ = try RelayConfiguration.parse(Data(text.utf8), file: "c.json")
            Issue.record("the config has errors")
        } catch {
            let paths = error.errors.map(\.path)
            for path in [
                "server_events.tokn", "server_events.dataset", "capi_ingest.consent",
                "crm_echo.stages[0].curency", "pixel_echo.allowed_origins[0]", "dedupe.rules[1]",
                "dedupe.identity_window_hours",
            ] {
                #expect(paths.contains(path), "\(path) in \(paths)")
            }
        }
    }

    @Test func thePipelineDefaultsAreMetasRecommendations() throws {
        let configuration = try RelayConfiguration.parse(
            Data(ExampleConfiguration.text.utf8), file: "example")
        #expect(configuration.consent.hashExternalID)
        #expect(configuration.dedupe.dedupeRules == [.eventID, .sourceKey, .identity])
        #expect(configuration.crmEcho?.stages.map(\.event) == ["QualifiedLead", "Purchase"])
        #expect(configuration.capiIngest?.consent == "granted")
    }
}
