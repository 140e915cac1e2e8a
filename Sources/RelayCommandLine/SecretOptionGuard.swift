/// Recognises options that would carry a secret, so the error can say where secrets belong.
///
/// No command declares such an option: a value on the command line is visible to every user
/// through the process list and is kept in shell history. Someone who reaches for
/// `--access-token` should learn that at once rather than read a generic "unknown option".
enum SecretOptionGuard {
    /// The words that mark a secret: `--access-token`, `--app-secret`, `--verify-token`,
    /// `--crm-secret`, and a bare `--token`, `--secret` or `--password`.
    private static let secretWords: Set<String> = ["token", "secret", "password"]

    /// Whether an option name (without dashes) looks like it would carry a secret.
    ///
    /// Matching whole words of the name, after folding case and underscores, catches
    /// `--APP_SECRET` and `--page-access-token` without catching `--tokenizer`.
    static func looksLikeSecret(_ name: String) -> Bool {
        let words = name.lowercased().replacing("_", with: "-").split(separator: "-")
        return words.contains { secretWords.contains(String($0)) }
    }

    /// The message for an undeclared option that looks like a secret. It quotes the option
    /// only, never a value that followed it.
    static func message(for option: String) -> String {
        "Option '\(option)' is not accepted: secrets never go on the command line, where other "
            + "users can read them in the process list and the shell keeps them in its history. "
            + "Put the secret in an environment variable or in a file named in the config."
    }
}
