import Foundation
import RelayCommandLine
import RelayCore
import RelayServer

// The entry point: parse, then hand over to the command. Exit codes follow sysexits: 0 for
// success, 64 for usage errors, 78 for config errors.

let parser = CommandLineParser(root: Commands.root)
switch parser.parse(Array(CommandLine.arguments.dropFirst())) {
case .help(let text):
    print(text)
    exit(0)
case .version:
    print(Commands.version)
    exit(0)
case .failure(let error):
    FileHandle.standardError.write(Data((error.message + "\n").utf8))
    FileHandle.standardError.write(
        Data("Run '\(error.commandName) --help' for usage.\n".utf8))
    exit(error.exitCode.rawValue)
case .run(let command):
    exit(CommandRunner.run(command))
}
