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
let usage = """
    usage: capi-relay-bench normalize [--records N] [--rounds N] [--python PATH]
           capi-relay-bench ingest [--events N] [--connections N] [--rate R]
                                   [--relay PATH] [--nginx PATH] [--postgres URL]
           capi-relay-bench large-journal [--conversions N] [--events N] [--connections N]
                                          [--relay PATH]
           capi-relay-bench encode [--events N] [--rounds N]
           capi-relay-bench journal [--appends N] [--writers N]
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
if let known = knownOptions[name] {
    let given = Array(allArguments.dropFirst())
    for (index, argument) in given.enumerated() where index % 2 == 0 {
        guard known.contains(argument) else {
            FileHandle.standardError.write(
                Data(
                    ("\(name): unknown option '\(argument)'; options: "
                        + known.sorted().joined(separator: " ") + "\n").utf8))
            exit(64)
        }
        guard index + 1 < given.count else {
            FileHandle.standardError.write(Data("\(name): \(argument) needs a value\n".utf8))
            exit(64)
        }
    }
}

/// The relay built beside this benchmark (`swift build -c release` builds both), unless
/// `--relay` names another; refused with how to build it when it is missing.
func relayBinary() -> String {
    let path =
        option("--relay")
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("capi-relay").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        FileHandle.standardError.write(
            Data(
                ("no capi-relay at \(path): build both with `swift build -c release`, or pass"
                    + " --relay PATH\n").utf8))
        exit(66)
    }
    return path
}

func option(_ flag: String, in arguments: [String] = Array(allArguments.dropFirst())) -> String? {
    guard let index = arguments.firstIndex(of: flag), index + 1 < arguments.count else {
        return nil
    }
    return arguments[index + 1]
}

switch name {
case "normalize":
    let benchmark = NormalizationBenchmark(
        records: Int(option("--records") ?? "") ?? 20_000,
        rounds: Int(option("--rounds") ?? "") ?? 5,
        python: option("--python"))
    do {
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
case "ingest":
    let benchmark = IngestBenchmark(
        relayBinary: relayBinary(),
        events: Int(option("--events") ?? "") ?? 50_000,
        connections: Int(option("--connections") ?? "") ?? 16,
        offeredRate: Double(option("--rate") ?? "") ?? 5_000,
        nginx: option("--nginx"), postgres: option("--postgres"))
    do {
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
case "large-journal":
    let benchmark = LargeJournalBenchmark(
        relayBinary: relayBinary(),
        conversions: Int(option("--conversions") ?? "") ?? 1_000_000,
        events: Int(option("--events") ?? "") ?? 20_000,
        connections: Int(option("--connections") ?? "") ?? 32)
    do {
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
case "encode":
    let benchmark = EncodingBenchmark(
        events: Int(option("--events") ?? "") ?? 1_000,
        rounds: Int(option("--rounds") ?? "") ?? 20)
    do {
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
case "journal":
    let benchmark = JournalBenchmark(
        appends: Int(option("--appends") ?? "") ?? 20_000,
        writers: Int(option("--writers") ?? "") ?? 32)
    do {
        try benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(
        Data(
            "unknown benchmark '\(name)'; try: normalize, ingest, large-journal, encode, journal\n"
                .utf8))
    exit(64)
}
