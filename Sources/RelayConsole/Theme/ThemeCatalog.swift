import Foundation

/// The themes a console can cycle through: the built-in ones, overridden or added to by the
/// `*.theme` files of a themes directory.
public struct ThemeCatalog: Sendable {
    /// In cycling order: built-in names first, then other files alphabetically.
    public private(set) var themes: [Theme]
    /// Every bad line of every file read, as `path:line: message`.
    public private(set) var diagnostics: [ThemeDiagnostic] = []
    /// The directory the files came from, or nil when only built-in themes are in use.
    public private(set) var directory: String?

    /// Loads the themes of `directory` (nil: built-in themes only) over the built-in ones.
    public init(directory: String?) {
        var byName: [String: Theme] = [:]
        for theme in BuiltinThemes.all { byName[theme.name] = theme }
        var extraNames: [String] = []
        self.directory = directory

        if let directory {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files.sorted() where file.hasSuffix(".theme") {
                let path = (directory as NSString).appendingPathComponent(file)
                let name = String(file.dropLast(".theme".count))
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    diagnostics.append(
                        ThemeDiagnostic(path: path, line: 0, message: "cannot be read as UTF-8"))
                    continue
                }
                let (theme, problems) = Theme.parse(text, name: name, path: path)
                diagnostics += problems
                if byName[name] == nil { extraNames.append(name) }
                byName[name] = theme
            }
        }
        themes = (BuiltinThemes.names + extraNames).compactMap { byName[$0] }
    }

    public var names: [String] { themes.map(\.name) }

    public func theme(named name: String) -> Theme? { themes.first { $0.name == name } }

    /// The `Themes/` directory to use when none is given: the working directory's, else the
    /// package root's when the binary runs from a build directory (`.build/debug/capi-relay`).
    public static func defaultDirectory(executablePath: String) -> String? {
        let manager = FileManager.default
        var candidates = [manager.currentDirectoryPath + "/Themes"]
        var directory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent("Themes").path)
            directory.deleteLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        return candidates.first {
            manager.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }
}
