import Foundation
import Testing

@testable import RelayConsole

@Suite("Themes")
struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Themes").path

    @Test func everyShippedThemeLoadsWithoutAProblemAndSetsEveryRole() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themesDirectory)
            .filter { $0.hasSuffix(".theme") }
        #expect(files.count >= 4)
        for file in files {
            let path = Self.themesDirectory + "/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let (theme, problems) = Theme.parse(
                text, name: file, path: path, fallback: Theme(name: "empty", styles: [:]))
            #expect(problems.isEmpty, "\(problems)")
            #expect(Set(theme.styles.keys) == Set(ThemeRole.allCases), "\(file) leaves roles out")
        }
    }

    @Test func builtInThemesAreTheShippedFiles() throws {
        for name in BuiltinThemes.names {
            let text = try String(
                contentsOfFile: Self.themesDirectory + "/\(name).theme", encoding: .utf8)
            #expect(BuiltinThemes.texts[name]! + "\n" == text, "\(name) differs from its file")
        }
    }

    @Test func monochromeUsesNoColourAtAll() {
        let theme = BuiltinThemes.monochrome
        for role in ThemeRole.allCases {
            #expect(theme[role].foreground == .terminalDefault)
            #expect(theme[role].background == .terminalDefault)
        }
    }

    @Test func aBadLineIsReportedByPathAndLineAndFallsBack() {
        let text = "ok = green default bold\nfailed = gren default\nbogus = red red\n"
        let (theme, problems) = Theme.parse(text, name: "mine", path: "Themes/mine.theme")
        #expect(
            problems.map(\.description) == [
                "Themes/mine.theme:2: unknown colour 'gren'; use default, a name such as green or "
                    + "bright-red, or a palette number 0-255",
                "Themes/mine.theme:3: unknown role 'bogus'; roles are "
                    + ThemeRole.allCases.map(\.rawValue).joined(separator: ", "),
            ])
        #expect(theme[.failed] == BuiltinThemes.standard[.failed])
        #expect(theme[.ok] == Theme.Style(.index(2), .terminalDefault, [.bold]))
    }

    @Test func catalogAddsAThemesDirectoryFileAndKeepsItsDiagnostics() throws {
        let directory = NSTemporaryDirectory() + "themes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "ok = blue default\nwarning = yellow\n".write(
            toFile: directory + "/night.theme", atomically: true, encoding: .utf8)
        let catalog = ThemeCatalog(directory: directory)
        #expect(catalog.names == BuiltinThemes.names + ["night"])
        #expect(catalog.diagnostics.map(\.line) == [2])
        #expect(catalog.diagnostics.first?.path == directory + "/night.theme")
    }

    @Test func withoutColourEveryRoleStillLooksDifferentFromText() {
        let theme = BuiltinThemes.standard.withoutColor
        for role in [ThemeRole.failed, .deadLetter, .selected, .header, .consentDrop] {
            #expect(!theme[role].attributes.isEmpty, "\(role) would look like plain text")
        }
    }
}
