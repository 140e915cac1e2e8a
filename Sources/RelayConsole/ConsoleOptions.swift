/// How `capi-relay console` was asked to run.
public struct ConsoleOptions: Sendable, Equatable {
    /// The relay's feed socket.
    public var socketPath: String
    /// Removes re-send: its key then only says that it is disabled and why.
    public var readOnly: Bool
    /// The theme to start with; nil is `default` (`monochrome` under `NO_COLOR`).
    public var themeName: String?
    /// Where `*.theme` files are read from; nil looks for `Themes/` (see `ThemeCatalog`).
    public var themesDirectory: String?
    /// The console's own log; nil is `/tmp/capi-relay-console-<uid>.log`.
    public var logPath: String?

    public init(
        socketPath: String, readOnly: Bool = false, themeName: String? = nil,
        themesDirectory: String? = nil, logPath: String? = nil
    ) {
        self.socketPath = socketPath
        self.readOnly = readOnly
        self.themeName = themeName
        self.themesDirectory = themesDirectory
        self.logPath = logPath
    }
}
