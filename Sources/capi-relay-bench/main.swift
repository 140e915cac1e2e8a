import Foundation

// capi-relay-bench: benchmarks that report figures. They are not tests and assert nothing;
// the README's Performance section records what they printed.
//
//   swift run -c release capi-relay-bench normalize [--records N] [--rounds N] [--python PATH]
//   swift run -c release capi-relay-bench ingest [--events N] [--connections N] [--rate R]
//                                                [--relay PATH] [--nginx PATH]
//                                                [--postgres URL]
//   swift run -c release capi-relay-bench large-journal [--conversions N] [--events N]
//                                                       [--connections N] [--relay PATH]
//   swift run -c release capi-relay-bench encode [--events N] [--rounds N]
//   swift run -c release capi-relay-bench journal [--appends N] [--writers N]

let allArguments = Array(CommandLine.arguments.dropFirst())

/// The most connections a load may open: serve's default `http.max_connections`, which the
/// benchmark's configs leave as it is. Beyond it serve answers 503, so the figures would be of
/// refusals; and each connection is a thread of the load generator's own.
let mostConnections = 1024

/// The most journal writers: each stands for a webhook whose connection awaits its append, so
/// serve never has more than its connections, and each is a thread of its own.
let mostWriters = mostConnections

/// The offered rates the ingest benchmark can use, in requests per second. At least one: the
/// runs at half the rate send five seconds' worth, which below 0.4 is no webhook at all and
/// prints `nan`. At most a million, beyond what loopback HTTP answers on one machine, so that a
/// higher offer, which would only be saturation (measured anyway), cannot trap converting ten
/// seconds' worth to a count, as 1e300 did.
let offeredRates: ClosedRange<Double> = 1...1_000_000

let usage = """
    usage: capi-relay-bench normalize [--records N] [--rounds N] [--python PATH]
           capi-relay-bench ingest [--events N] [--connections N] [--rate R]
                                   [--relay PATH] [--nginx PATH] [--postgres URL]
           capi-relay-bench large-journal [--conversions N] [--events N] [--connections N]
                                          [--relay PATH]
           capi-relay-bench encode [--events N] [--rounds N]
           capi-relay-bench journal [--appends N] [--writers N]
    Each N is a whole number of at least 1; --connections and --writers at most \(mostConnections).
    R is requests per second, from 1 to \(Int(offeredRates.upperBound)).
    See the README's Performance section for what each measures.
    """
if allArguments.contains("--help") || allArguments.contains("-h") {
    print(usage)
    exit(0)
}
guard let name = allArguments.first else {
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(64)
}

/// Each benchmark's options, each taking a value: anything else is refused rather than
/// ignored, so that a misspelt option cannot run a benchmark on its defaults unnoticed.
let knownOptions: [String: Set<String>] = [
    "normalize": ["--records", "--rounds", "--python"],
    "ingest": ["--events", "--connections", "--rate", "--relay", "--nginx", "--postgres"],
    "large-journal": ["--conversions", "--events", "--connections", "--relay"],
    "encode": ["--events", "--rounds"],
    "journal": ["--appends", "--writers"],
]
guard let known = knownOptions[name] else {
    FileHandle.standardError.write(
        Data(
            "unknown benchmark '\(name)'; try: normalize, ingest, large-journal, encode, journal\n"
                .utf8))
    exit(64)
}

/// What to pass for `--python` and `--nginx` instead of a path that is not a program.
let pythonHint = "pass the path of a Python with facebook-business installed"
let nginxHint = "pass the path of nginx (apt-get install nginx-light)"

/// The benchmark `name` with its options read and checked, ready to run.
func benchmark(_ name: String, _ options: BenchmarkOptions) throws(BenchmarkUsageError)
    -> () throws -> Void
{
    switch name {
    case "normalize":
        return NormalizationBenchmark(
            records: try options.count("--records", default: 20_000),
            rounds: try options.count("--rounds", default: 5),
            python: try options.program("--python", hint: pythonHint)
        ).run
    case "ingest":
        return IngestBenchmark(
            relayBinary: try options.relay(),
            events: try options.count("--events", default: 50_000),
            connections: try options.count("--connections", default: 16, atMost: mostConnections),
            offeredRate: try options.rate("--rate", default: 5_000, in: offeredRates),
            nginx: try options.program("--nginx", hint: nginxHint),
            postgres: options.text("--postgres")
        ).run
    case "large-journal":
        return LargeJournalBenchmark(
            relayBinary: try options.relay(),
            conversions: try options.count("--conversions", default: 1_000_000),
            events: try options.count("--events", default: 20_000),
            connections: try options.count("--connections", default: 32, atMost: mostConnections)
        ).run
    case "encode":
        return EncodingBenchmark(
            events: try options.count("--events", default: 1_000),
            rounds: try options.count("--rounds", default: 20)
        ).run
    case "journal":
        return JournalBenchmark(
            appends: try options.count("--appends", default: 20_000),
            writers: try options.count("--writers", default: 32, atMost: mostWriters)
        ).run
    default:
        preconditionFailure("benchmark '\(name)' is in knownOptions but cannot be built")
    }
}

// Every option is read before the benchmark starts, so a bad one is refused at once, not
// after minutes of running on the others.
let run: () throws -> Void
do {
    let options = try BenchmarkOptions(
        benchmark: name, arguments: Array(allArguments.dropFirst()), known: known)
    run = try benchmark(name, options)
} catch {
    FileHandle.standardError.write(Data((error.message + "\n").utf8))
    exit(error.exitStatus)
}
do {
    try run()
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
