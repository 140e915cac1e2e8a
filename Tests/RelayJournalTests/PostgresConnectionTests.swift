import Foundation
import RelayTestSupport
import Testing

@testable import RelayJournal

/// The libpq wrapper against a real PostgreSQL server (see `PostgresTestServer`).
@Suite struct PostgresConnectionTests {
    @Test func parametersAndNullsRoundTrip() throws {
        let connection = try PostgresConnection(url: try PostgresTestServer.freshDatabase())
        try connection.execute("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)")
        try connection.query(
            "INSERT INTO notes VALUES ($1, $2), ($3, $4)", ["1", "ünïcode", "2", nil])

        let rows = try connection.query("SELECT id, body FROM notes ORDER BY id")
        #expect(rows == [["1", "ünïcode"], ["2", nil]])
        #expect(try connection.query("SELECT count(*) FROM notes WHERE id = $1", ["2"]) == [["1"]])
    }

    @Test func aDuplicateKeyIsAUniqueViolation() throws {
        let connection = try PostgresConnection(url: try PostgresTestServer.freshDatabase())
        try connection.execute("CREATE TABLE keys (key TEXT PRIMARY KEY)")
        try connection.query("INSERT INTO keys VALUES ($1)", ["k"])
        do {
            try connection.query("INSERT INTO keys VALUES ($1)", ["k"])
            Issue.record("a second row with the same key was accepted")
        } catch {
            #expect(error.isUniqueViolation)
            #expect(error.sqlState == "23505")
        }
    }

    @Test func aFailedConnectionNamesTheServerButNeverThePassword() {
        let url = "postgresql://relay:s3cret-pass@127.0.0.1:1/journal?connect_timeout=2"
        do {
            _ = try PostgresConnection(url: url)
            Issue.record("connected to a closed port")
        } catch {
            #expect(error.description.contains("127.0.0.1:1/journal"))
            #expect(!error.description.contains("s3cret-pass"))
        }
    }

    @Test func redactionRemovesUserInfoAndPasswordParameters() {
        #expect(
            PostgresConnection.redacted("postgres://u:p@db.internal:5432/journal")
                == "postgres://db.internal:5432/journal")
        #expect(
            PostgresConnection.redacted(
                "postgresql:///journal?host=/run/pg&password=p&sslmode=require")
                == "postgresql:///journal?host=/run/pg&sslmode=require")
    }
}
