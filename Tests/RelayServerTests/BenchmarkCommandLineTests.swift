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

    @Test func theSmallestCountsRunTheBenchmark() throws {
        let (status, process) = try bench(["encode", "--events", "1", "--rounds", "1"])
        #expect(status == 0, "\(process.stderr)")
        #expect(process.stdout.hasPrefix("encode  one CAPI request of 1 events, best of 1\n"))
        #expect(process.stderr == "")
    }
}
