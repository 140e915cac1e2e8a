import Foundation

// capi-relay-bench: benchmarks that report figures. They are not tests and assert nothing;
// the README's Performance section records what they printed.
//
//   swift run -c release capi-relay-bench normalize [--records N] [--rounds N] [--python PATH]

let allArguments = Array(CommandLine.arguments.dropFirst())
guard let name = allArguments.first else {
    print("usage: capi-relay-bench normalize [--records N] [--rounds N] [--python PATH]")
    exit(64)
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
default:
    FileHandle.standardError.write(Data("unknown benchmark '\(name)'; try: normalize\n".utf8))
    exit(64)
}
