/// The relay's version: printed by `--version`, sent in User-Agent and the feed's hello.
public enum RelayVersion {
    public static let current = "0.1.0"
}
