/// A process exit status, with the `sysexits.h` values the relay uses.
///
/// The library never exits; the executable maps outcomes to these so that scripts and service
/// managers can tell a mistyped command line from a broken config.
public struct ExitCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The command did what was asked.
    public static let success = ExitCode(rawValue: 0)

    /// `EX_USAGE`: the command line was wrong (unknown option, missing argument...).
    public static let usage = ExitCode(rawValue: 64)

    /// `EX_CONFIG`: the configuration file or environment was wrong.
    public static let config = ExitCode(rawValue: 78)
}
