/// A problem in a theme file, reported as `path:line: message` like a compiler would.
public struct ThemeDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// 1-based.
    public var line: Int
    public var message: String

    public var description: String { "\(path):\(line): \(message)" }
}
