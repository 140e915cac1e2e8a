/// An effect the console's driver performs after the state machine handled an input.
public enum ConsoleAction: Sendable, Equatable {
    /// Send one command line to the relay (`inspect <event_id>`, `resend <event_id> confirm`).
    case send(String)
    /// Switch the terminal to the theme with this name.
    case applyTheme(String)
    case quit
}
