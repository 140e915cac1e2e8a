import Foundation

/// A real PostgreSQL server for the tests: started once per test process in a temporary
/// directory, listening only on a Unix socket there, and stopped when the process exits.
///
/// `CAPI_RELAY_TEST_POSTGRES_URL` points the tests at a server of your own instead. Without
/// either, the PostgreSQL tests fail with a message saying what is missing; they never skip.
public enum PostgresTestServer {
    /// A fresh, empty database on the test server, as a libpq URL.
    public static func freshDatabase() throws -> String {
        let server = try shared.get()
        let name = "capi_relay_test_\(UUID().uuidString.prefix(8).lowercased())"
        try psql(server, "CREATE DATABASE \(name)")
        return server.url(database: name)
    }

    struct Server: Sendable {
        var socketDirectory: String?
        var baseURL: String?

        func url(database: String) -> String {
            if let baseURL {
                // Swap the database in the URL given by the environment.
                guard let slash = baseURL.range(of: "/", options: .backwards),
                    baseURL[..<slash.lowerBound].contains("://")
                else { return baseURL }
                let query =
                    baseURL[slash.upperBound...].firstIndex(of: "?").map {
                        String(baseURL[$0...])
                    } ?? ""
                return String(baseURL[..<slash.upperBound]) + database + query
            }
            return "postgresql://capi_relay@/\(database)?host=\(socketDirectory!)"
        }
    }

    private static let shared: Result<Server, TestFailure> = {
        if let url = ProcessInfo.processInfo.environment["CAPI_RELAY_TEST_POSTGRES_URL"] {
            return .success(Server(baseURL: url))
        }
        do {
            return .success(try start())
        } catch let failure as TestFailure {
            return .failure(failure)
        } catch {
            return .failure(TestFailure("\(error)"))
        }
    }()

    /// The data directory of the server this process started, for the exit handler.
    nonisolated(unsafe) private static var startedDirectory: String?

    private static func start() throws -> Server {
        guard let bin = binDirectory() else {
            throw TestFailure(
                "the PostgreSQL tests need PostgreSQL 15's server binaries (initdb, pg_ctl) "
                    + "under /usr/lib/postgresql/*/bin: install postgresql-15, or set "
                    + "CAPI_RELAY_TEST_POSTGRES_URL to a server of your own")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        let data = directory + "/data"

        // PostgreSQL refuses to run as root; as root, run it as the postgres user.
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chown", ["postgres:postgres", directory])
        }
        try run(
            bin + "/initdb",
            ["-D", data, "-U", "capi_relay", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"],
            asPostgres: asRoot)
        try run(
            bin + "/pg_ctl",
            [
                "-D", data, "-w", "-l", directory + "/server.log", "-o",
                "-c listen_addresses='' -k \(directory) -c max_connections=200", "start",
            ], asPostgres: asRoot)
        startedDirectory = directory
        atexit {
            guard let directory = PostgresTestServer.startedDirectory,
                let bin = PostgresTestServer.binDirectory()
            else { return }
            try? PostgresTestServer.run(
                bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"],
                asPostgres: getuid() == 0)
            try? FileManager.default.removeItem(atPath: directory)
        }
        return Server(socketDirectory: directory)
    }

    static func binDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
            .map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    private static func psql(_ server: Server, _ sql: String) throws {
        let client = "/usr/bin/psql"
        guard FileManager.default.isExecutableFile(atPath: client) else {
            throw TestFailure("the PostgreSQL tests need psql (postgresql-client-15)")
        }
        try run(client, [server.url(database: "postgres"), "-v", "ON_ERROR_STOP=1", "-qc", sql])
    }

    /// Runs a program to completion with posix_spawn and waitpid.
    ///
    /// Not Foundation's Process: `pg_ctl start` leaves a server behind that inherits the
    /// child's descriptors, and Process's exit monitoring hung on it. Output goes to a file,
    /// never a pipe, for the same reason.
    static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = false) throws {
        let argv =
            asPostgres
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
            : [executable] + arguments
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-pg-output-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw TestFailure("cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}

        let exitedCleanly = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        guard exitedCleanly else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestFailure(
                "\(argv.joined(separator: " ")) failed (wait status \(status)): \(text)")
        }
    }
}
