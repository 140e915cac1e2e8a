import Foundation
import RelayCommandLine
import RelayCore
import RelayServer

// The entry point: parse, then hand over to the command. Exit codes follow sysexits: 0 for
// success, 64 for usage errors, 78 for config errors.

// `serve` reloads on SIGHUP. Until its handler is in place a SIGHUP would end the process, and
// a supervisor may send one at any moment of the start (systemd's ExecReload); one that comes
// before the config is read has nothing to reload, so it is ignored from the first line.
if CommandLine.arguments.dropFirst().first == "serve" {
    signal(SIGHUP, SIG_IGN)
}

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
