// swift-tools-version:6.0
import PackageDescription

// The relay builds from the toolchain and Debian's C libraries alone: no Swift package can be
// fetched on the machines that build it, so every dependency below is a system library target.
let package = Package(
    name: "capi-relay",
    products: [
        .executable(name: "capi-relay", targets: ["capi-relay"]),
        .executable(name: "capi-relay-bench", targets: ["capi-relay-bench"])
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // epoll, eventfd and peer credentials, which Swift's Glibc module does not expose.
        .systemLibrary(name: "CLinux"),
        // PostgreSQL's client library, for the shared journal.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // The operations console's terminal; only RelayConsole's terminal layer imports it.
        // No pkgConfig: ncursesw's .pc file adds -D flags SwiftPM refuses with a warning, and
        // the module map already links ncursesw from the standard include and library paths.
        .systemLibrary(
            name: "CNcursesw",
            providers: [.apt(["libncurses-dev"])]
        ),

        // The domain: no I/O, no HTTP, no SQL.
        .target(name: "RelayCore", dependencies: ["COpenSSL"]),
        .target(name: "RelayHTTP", dependencies: ["CLinux"]),
        .target(name: "RelayIngest", dependencies: ["RelayCore"]),
        .target(name: "RelayJournal", dependencies: ["RelayCore", "CSQLite", "CLibPQ"]),
        .target(name: "RelayDelivery", dependencies: ["RelayCore", "RelayJournal"]),
        .target(name: "RelayFeed", dependencies: ["RelayCore", "CLinux"]),
        .target(name: "RelaySandbox", dependencies: ["RelayCore", "RelayHTTP"]),
        .target(name: "RelayCommandLine"),
        .target(
            name: "RelayServer",
            dependencies: [
                "RelayCore", "RelayHTTP", "RelayIngest", "RelayJournal", "RelayDelivery",
                "RelayFeed", "RelaySandbox",
            ]
        ),
        .target(name: "RelayConsole", dependencies: ["CNcursesw", "RelayCore", "RelayFeed"]),
        .executableTarget(
            name: "capi-relay",
            dependencies: [
                "RelayServer", "RelaySandbox", "RelayCommandLine", "RelayConsole", "RelayJournal",
            ]
        ),
        // Benchmarks that report figures (see the README's Performance section).
        .executableTarget(
            name: "capi-relay-bench", dependencies: ["RelayCore", "RelayJournal", "CSQLite"],
            exclude: ["peers"]),

        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore"], exclude: ["Vectors"]),
        .testTarget(name: "RelayHTTPTests", dependencies: ["RelayHTTP"]),
        .testTarget(
            name: "RelayIngestTests", dependencies: ["RelayIngest"], exclude: ["Fixtures"]),
        .testTarget(name: "RelayJournalTests", dependencies: ["RelayJournal", "RelayTestSupport"]),
        .testTarget(name: "RelayDeliveryTests", dependencies: ["RelayDelivery", "RelayJournal"]),
        .testTarget(name: "RelayFeedTests", dependencies: ["RelayFeed"]),
        .testTarget(name: "RelaySandboxTests", dependencies: ["RelaySandbox"]),
        .testTarget(name: "RelayCommandLineTests", dependencies: ["RelayCommandLine"]),
        // Running the real binary and waiting on it, for the test targets that do.
        .target(name: "RelayTestSupport", path: "Tests/RelayTestSupport"),
        .testTarget(
            name: "RelayServerTests",
            dependencies: ["RelayServer", "RelaySandbox", "RelayJournal", "RelayTestSupport"],
            exclude: ["Golden", "Scripts"]
        ),
        .testTarget(
            name: "RelayConsoleTests", dependencies: ["RelayConsole", "RelayCore", "RelayTestSupport"],
            exclude: ["Golden"]),
    ]
)
