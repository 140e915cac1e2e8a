import Foundation
import RelayTestSupport
import Testing

/// `capi-relay-bench` as a user meets it: a value a benchmark cannot use is refused before the
/// benchmark starts, with one line that names the option and quotes the value.
///
/// Every refusal here comes before any work; without it, each of these command lines crashed,
/// ran on a default, or printed figures of nothing. The arguments keep the counts small so that
/// a binary which does start the benchmark still finishes soon.
@Suite struct BenchmarkCommandLineTests {
    /// Runs `capi-relay-bench` with `arguments` to its exit.
    private func bench(_ arguments: [String]) throws -> (status: Int32, process: TestProcess) {
        let process = try TestProcess(arguments, program: "capi-relay-bench")
        return (try process.waitForExit(timeout: 120), process)
    }

    @Test(arguments: [
        (
            ["journal", "--appends", "-5"],
            "journal: --appends expects a whole number of at least 1, got '-5'"
        ),
        (
            ["journal", "--appends", "0"],
            "journal: --appends expects a whole number of at least 1, got '0'"
        ),
        (
            ["encode", "--events", "abc"],
            "encode: --events expects a whole number of at least 1, got 'abc'"
        ),
        (
            ["normalize", "--records", "10", "--rounds", "1.5"],
            "normalize: --rounds expects a whole number of at least 1, got '1.5'"
        ),
        (
            ["large-journal", "--conversions", "-1", "--events", "10", "--connections", "1"],
            "large-journal: --conversions expects a whole number of at least 1, got '-1'"
        ),
        (
            ["ingest", "--events", "10", "--connections", "0"],
            "ingest: --connections expects a whole number from 1 to 1024, got '0'"
        ),
        (
            ["ingest", "--events", "10", "--connections", "1025"],
            "ingest: --connections expects a whole number from 1 to 1024, got '1025'"
        ),
        (
            ["journal", "--appends", "10", "--writers", "1025"],
            "journal: --writers expects a whole number from 1 to 1024, got '1025'"
        ),
        (
            ["ingest", "--events", "10", "--rate", "0"],
            "ingest: --rate expects requests per second, a number from 1 to 1000000, got '0'"
        ),
        (
            ["ingest", "--events", "10", "--rate", "nan"],
            "ingest: --rate expects requests per second, a number from 1 to 1000000, got 'nan'"
        ),
    ])
    func aCountOrRateItCannotUseIsRefusedBeforeTheBenchmarkStarts(
        arguments: [String], message: String
    ) throws {
        let (status, process) = try bench(arguments)
        #expect(status == 64, "\(process.stderr)")
        #expect(process.stderr == message + "\n")
        #expect(process.stdout == "", "no benchmark started")
    }

    @Test(arguments: [
        (
            ["normalize", "--records", "10", "--rounds", "1", "--python", "/nonexistent/python"],
            "normalize: --python /nonexistent/python: no such file; pass the path of a Python"
                + " with facebook-business installed"
        ),
        (
            ["ingest", "--events", "10", "--nginx", "/nonexistent/nginx"],
            "ingest: --nginx /nonexistent/nginx: no such file; pass the path of nginx"
                + " (apt-get install nginx-light)"
        ),
        (
            [
                "large-journal", "--conversions", "1", "--events", "10", "--relay",
                "/nonexistent/relay",
            ],
            "large-journal: --relay /nonexistent/relay: no such file; pass the path of a capi-relay"
                + " that `swift build -c release` built"
        ),
    ])
    func aProgramThatIsNotThereIsRefusedNamingTheOptionAndThePath(
        arguments: [String], message: String
    ) throws {
        let (status, process) = try bench(arguments)
        #expect(status == 66, "\(process.stderr)")
        #expect(process.stderr == message + "\n")
        #expect(process.stdout == "", "no benchmark started")
    }

    @Test func aFileThatCannotRunOrADirectoryIsRefusedAsAProgram() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("bench-programs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("python")
        try "#!/bin/sh\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: script.path)

        for path in [script.path, directory.path] {
            let (status, process) = try bench(
                ["normalize", "--records", "10", "--rounds", "1", "--python", path])
            #expect(status == 66, "\(process.stderr)")
            #expect(
                process.stderr
                    == "normalize: --python \(path): not an executable file; pass the path of a"
                    + " Python with facebook-business installed\n")
        }
    }

    @Test func anOptionGivenTwiceIsRefusedRatherThanHalfIgnored() throws {
        let (status, process) = try bench(
            ["encode", "--events", "1", "--rounds", "1", "--events", "abc"])
        #expect(status == 64, "\(process.stderr)")
        #expect(process.stderr == "encode: --events is given twice; give it once\n")
        #expect(process.stdout == "", "no benchmark started")
    }

    @Test func theSmallestCountsRunTheBenchmark() throws {
        let (status, process) = try bench(["encode", "--events", "1", "--rounds", "1"])
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stdout.hasPrefix("encode  one CAPI request of 1 events, best of 1\n"))
        #expect(process.stderr == "")
    }
}
