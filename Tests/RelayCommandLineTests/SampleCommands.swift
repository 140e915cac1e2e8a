import RelayCommandLine

/// A command tree shaped like the real executable's, small enough to read in one go.
enum SampleCommands {
    static let serve = CommandDeclaration(
        "serve",
        abstract: "Run the relay: accept conversion events and deliver them to Meta.",
        discussion: """
            The relay journals every accepted event before it answers, then delivers from the \
            journal in the background, retrying with backoff until Meta accepts the event or \
            it is dead-lettered.

              capi-relay serve --listen 0.0.0.0:8080
              capi-relay serve -c /etc/capi-relay/relay.toml --tag eu --tag web
            """,
        options: [
            .string(
                "listen", short: "l", valueName: "ADDR", default: "127.0.0.1:8080",
                help: "Address and port to accept events on."),
            .string("config", short: "c", valueName: "FILE", help: "The relay's config file."),
            .int(
                "events", default: 100,
                help: "Most events sent to Meta in one request; Meta accepts up to 1000."),
            .double("sample", default: 1.0, help: "Share of test events to keep, from 0 to 1."),
            .string(
                "tag", valueName: "TAG", repeatable: true,
                help: "A label added to every log line of this process."),
            .int(
                "max-delivery-attempts", default: 12,
                help: "Attempts before an event is dead-lettered."),
            .flag("dry-run", help: "Accept and journal events but deliver none."),
        ])

    static let sandbox = CommandDeclaration(
        "sandbox",
        abstract: "Run a local stand-in for Meta's Conversions API.",
        options: [
            .int("port", short: "p", default: 9090, help: "Port to listen on."),
            .int(
                "fail-status", valueName: "STATUS", repeatable: true,
                help: "HTTP status to answer with, in turn, before answering 200."),
            .double(
                "latency", valueName: "SECONDS", repeatable: true,
                help: "Delay before each answer, in turn."),
        ])

    static let demo = CommandDeclaration(
        "demo",
        abstract: "Send sample events through a relay and a sandbox.",
        options: [
            .int("events", default: 10, help: "Number of events to send."),
            .flag("confirm", short: "y", help: "Send without asking first."),
        ])

    static let config = CommandDeclaration(
        group: "config",
        abstract: "Write or check a relay config file.",
        subcommands: [
            CommandDeclaration("example", abstract: "Print an example config file."),
            CommandDeclaration(
                "check",
                abstract: "Check a config file and report every problem.",
                arguments: [
                    .optional("file", help: "The config file; by default ./relay.toml."),
                ]),
        ])

    static let console = CommandDeclaration(
        "console", abstract: "Watch deliveries live in the terminal.")

    static let resend = CommandDeclaration(
        "resend",
        abstract: "Deliver a dead-lettered event again.",
        options: [
            .string("dataset", valueName: "ID", help: "The dataset the event belongs to."),
        ],
        arguments: [
            .required("event-id", help: "The event to deliver again."),
            .optional("note", help: "Why it is sent again, for the journal."),
        ])

    static let root = CommandDeclaration(
        group: "capi-relay",
        abstract: "Relay server-side conversion events to Meta's Conversions API.",
        subcommands: [serve, sandbox, demo, config, console, resend])

    static let parser = CommandLineParser(root: root)
}
