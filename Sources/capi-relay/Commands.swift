import RelayCommandLine
import RelayCore

/// Every command and option of `capi-relay`, declared once: parsing and `--help` both come
/// from here.
enum Commands {
    static let version = "capi-relay \(RelayVersion.current)"

    /// The config a command reads when given none, in the directory it runs in.
    static let defaultConfigFile = "capi-relay.json"

    static let root = CommandDeclaration(
        group: "capi-relay",
        abstract: "Server-side conversions for chat-driven ad funnels.",
        discussion: """
            Messenger webhooks, bot and CRM events become deduplicated Conversions API \
            events with one event_id shared by the pixel, CAPI and the CRM. Secrets come \
            from environment variables or files named in the config, never from the \
            command line.
            """,
        subcommands: [
            serve, sandbox, demo, config, console, hash, resend, qa, reconcile, rules, replay,
            journal,
        ])

    // MARK: QA commands

    static let configOption = OptionDeclaration.string(
        "config", short: "c", valueName: "FILE", default: defaultConfigFile,
        help: "The config file; its journal path, rules and qa section apply.")
    static let journalOption = OptionDeclaration.string(
        "journal", valueName: "FILE|URL",
        help: "Read this journal instead of the config's (a copy, say, or a postgres:// URL);"
            + " opened read-only. The config still gives the rules and qa section.")
    static let sinceOption = OptionDeclaration.string(
        "since", valueName: "TIME",
        help: "Only what was journaled from TIME: 2025-12-01, 2025-12-01T09:00:00Z, unix"
            + " seconds, or a duration back from now such as 24h or 7d.")

    static let qa = CommandDeclaration(
        "qa",
        abstract: "Run the QA checklist on the journal; exit 1 if any check fails.",
        discussion: """
            Checks every conversion in the journal, and the request bodies the relay \
            actually sent: an event_id on each; the same event_id in the CAPI and the CRM \
            payload; hashed fields that are SHA-256 hex and no raw email; consent-only \
            fields only with consent; event_time inside Meta's 7 days and not in the future \
            when sent; event names from the config's rules; a consent state on each. Then \
            reports pixel coverage and, per event name, the share of conversions carrying \
            each match key. The journal is opened read-only.
            """,
        options: [
            sinceOption,
            .flag("json", help: "Print the report as JSON, for CI."),
            .flag(
                "compare-shadow",
                help: "Add shadow against sent counts and match keys, each against the pixel."),
            configOption, journalOption,
        ])

    static let reconcile = CommandDeclaration(
        "reconcile",
        abstract: "Compare a CRM export (CSV) with the journal, by event_id.",
        discussion: """
            Reports the event_ids both hold, those in the CRM but never sent, those sent but \
            not in the CRM, event_ids on several CRM records, and CRM records without one. \
            Column names come from qa.crm_columns in the config or the options below. Exits \
            1 when the mismatches are more than qa.max_mismatches (or --max-mismatches).
            """,
        options: [
            .string(
                "crm", valueName: "FILE", required: true,
                help: "The CRM export: CSV with a header row."),
            sinceOption,
            .flag("json", help: "Print the report as JSON, for CI."),
            .int("max-mismatches", valueName: "N", help: "Exit 1 above N mismatches."),
            .string("event-id-column", valueName: "NAME", help: "The column holding event_id."),
            .string("record-id-column", valueName: "NAME", help: "The CRM record id column."),
            .string("created-at-column", valueName: "NAME", help: "The created-time column."),
            configOption, journalOption,
        ])

    static let rules = CommandDeclaration(
        "rules",
        abstract: "Print each rule's trigger, CAPI fields and CRM payload, for launch reviews.",
        options: [
            .string(
                "format", valueName: "FORMAT", default: "text", help: "text or markdown."),
            configOption,
        ])

    static let replay = CommandDeclaration(
        "replay",
        abstract: "Post recorded webhook bodies to a relay again, signed, with progress.",
        discussion: """
            FILE holds one webhook body per line, as 'capi-relay journal export-bodies' \
            writes them. Each is signed with the config's app secret and posted in order; \
            conversions the relay already has are dedupe hits. With --test-event-code the \
            relay sends the resulting events with that test_event_code, if its config sets \
            qa.accept_test_event_code; otherwise it refuses them. Bodies the journal kept \
            masked carry no message text, so text rules do not match them again.
            """,
        options: [
            .string(
                "to", valueName: "URL",
                help: "The webhook URL; http://LISTEN/webhooks/messenger from the config."),
            .string(
                "test-event-code", valueName: "CODE",
                help: "Mark the replayed events for Meta's Test Events with CODE."),
            configOption,
        ],
        arguments: [.required("file", valueName: "FILE", help: "The JSON-lines file of bodies.")])

    static let journal = CommandDeclaration(
        group: "journal",
        abstract: "Read what the journal holds.",
        subcommands: [
            CommandDeclaration(
                "export-bodies",
                abstract: "Print the inbound webhook bodies as JSON lines, for replay.",
                discussion: """
                    One compact JSON body per line, oldest first, as the journal keeps them \
                    (message text masked unless feed.raw_message_text is set). The journal is \
                    opened read-only.
                    """,
                options: [
                    sinceOption,
                    .string(
                        "source", valueName: "SOURCE", default: "messenger",
                        help: "Only bodies from SOURCE."),
                    .string("output", short: "o", valueName: "FILE", help: "Write to FILE."),
                    configOption, journalOption,
                ])
        ])

    static let serve = CommandDeclaration(
        "serve",
        abstract: "Run the relay: receive webhooks, journal them, deliver conversions.",
        discussion: """
            Reads the config, then the secrets it names. SIGHUP reads both again: new \
            secrets, rules, pages and delivery settings take effect at once, a destination paused \
            for a refused token resumes, and a config with errors is refused while the old \
            one keeps running. SIGTERM or Ctrl-C stops intake (webhooks get 503), lets the \
            batches in flight finish within shutdown.deadline_seconds and exits 0; pending \
            work resumes on restart. GET /healthz, /readyz and /metrics are for monitoring.
            """,
        options: [
            .string(
                "config", short: "c", valueName: "FILE", default: defaultConfigFile,
                help: "The config file (JSON with comments)."),
            .string(
                "listen", valueName: "ADDR",
                help: "Listen on host:port instead of the config's listen address."),
            .string(
                "log-level", valueName: "LEVEL", default: "info",
                help: "trace, debug, info, notice, warning or error."),
            logFormatOption,
        ])

    /// Logs go to stderr, one line each, in either format.
    static let logFormatOption = OptionDeclaration.string(
        "log-format", valueName: "FORMAT", default: "logfmt",
        help: "logfmt (key=value) or json (one object per line, for log shippers).")

    static let sandbox = CommandDeclaration(
        "sandbox",
        abstract: "Stand in for the Graph API and a CRM webhook, on loopback.",
        discussion: """
            Validates each Conversions API request as strictly as Meta documents and \
            appends every request and its verdict to a JSON-lines file. Optional checks \
            read the environment: CAPI_RELAY_ACCESS_TOKEN (the only token accepted), \
            CAPI_RELAY_APP_SECRET (appsecret_proof required) and CAPI_RELAY_CRM_SECRET (CRM \
            posts must be signed).
            """,
        options: [
            .string(
                "listen", valueName: "ADDR", default: "127.0.0.1:9090",
                help: "host:port to listen on; loopback unless you mean otherwise."),
            .string(
                "record", valueName: "FILE", default: "sandbox.jsonl",
                help: "Append each request and its verdict here."),
            .string(
                "faults", valueName: "FILE",
                help: "Inject failures described in this JSON file (see the README);"
                    + " PUT /_sandbox/faults changes them at runtime."),
            logFormatOption,
        ])

    static let demo = CommandDeclaration(
        "demo",
        abstract: "Run the relay, the sandbox and a Messenger funnel on embedded defaults.",
        discussion: """
            Plays ad referrals, chat, leads, bookings and purchases into a relay with a \
            temporary journal, some webhooks redelivered and some batched, and shows live \
            totals until Ctrl-C.
            """,
        options: [
            .int("events", valueName: "N", help: "Stop after N funnel steps and print the totals."),
            .int(
                "seed", valueName: "N", default: 1,
                help: "Seed for the funnel; same seed, same funnel."),
            .flag("keep-files", help: "Keep the temporary journal and sandbox record."),
            .flag(
                "no-console",
                help: "Show a line of totals instead of the console, even in a terminal."),
            .flag(
                "chaos",
                help: "Make the sandbox fail: random 5xx, throttling, timeouts, poisoned events"
                    + " and an outage, to watch the relay cope."),
        ])

    static let resend = CommandDeclaration(
        "resend",
        abstract: "Queue dead letters again, once their cause is fixed.",
        discussion: """
            Selects dead letters from the relay's journal (every condition given must hold), \
            queues each again at the destination that gave up on it, with the same event_id, \
            and waits for the running relay to deliver them: a progress bar in a terminal, \
            then a summary. Exits 0 when every one was delivered, 1 otherwise. To send one \
            delivered event again, use the console's re-send.
            """,
        options: [
            .flag(
                "dead-letters", required: true,
                help: "Re-send dead letters, the only kind yet."),
            .string(
                "config", short: "c", valueName: "FILE", default: defaultConfigFile,
                help: "The relay's config, for the journal's path."),
            .string(
                "since", valueName: "T",
                help: "Dead-lettered at or after T: 2026-05-01T12:00:00Z, or 30m, 2h, 7d ago."),
            .string("event-id", valueName: "ID", help: "Only this event."),
            .string(
                "reason", valueName: "CODE",
                help: "A reason code (expired, attempts_exhausted, transport, graph_100,"
                    + " http_404) or a Graph code (100)."),
            .double(
                "wait", valueName: "SECONDS", default: 60,
                help: "How long to wait for delivery; 0 only queues."),
            .flag("dry-run", help: "List what would be re-sent, and change nothing."),
        ])

    static let config = CommandDeclaration(
        group: "config",
        abstract: "Print an example config, or check one.",
        subcommands: [
            CommandDeclaration(
                "example", abstract: "Print a complete, commented config that passes check."),
            CommandDeclaration(
                "check", abstract: "Report every problem in a config at once.",
                arguments: [
                    .optional(
                        "file", valueName: "FILE",
                        help: "The config; \(defaultConfigFile) if omitted.")
                ]),
        ])

    static let console = CommandDeclaration(
        "console",
        abstract: "Watch a running relay: live flow, totals, failures; inspect and re-send.",
        discussion: """
            A full-screen dashboard on the relay's feed socket. It reconnects by itself \
            when the relay restarts. Press ? for every key binding. NO_COLOR is respected; \
            the console's own log goes to a file, never to the terminal.
            """,
        options: [
            .string(
                "socket", valueName: "PATH", default: "capi-relay.sock",
                help: "The relay's feed socket."),
            .flag("read-only", help: "Remove re-send, for watching without risk."),
            .string(
                "theme", valueName: "NAME",
                help: "default, monochrome, high-contrast, colorblind, or a Themes/ file."),
            .string(
                "themes-dir", valueName: "DIR", help: "Read NAME.theme files from DIR."),
            .string("log", valueName: "FILE", help: "The console's log file."),
        ])

    static let hash = CommandDeclaration(
        "hash",
        abstract: "Normalize and hash customer information exactly as the relay sends it.",
        discussion: """
            Prints the normalized value and its SHA-256, one line per VALUE, for matching \
            records by hand. FIELD is a CAPI key (em, ph, fn, ln, ge, db, ct, st, zp, country, \
            external_id). A value that cannot be used is reported with the reason, and the \
            command exits 1.
            """,
        options: [
            .string(
                "field", short: "f", valueName: "FIELD", required: true,
                help: "The user_data key."),
            .string(
                "country", valueName: "CC", default: "us",
                help: "The country whose calling code a national phone number gets."),
        ],
        arguments: [.variadic("value", valueName: "VALUE", help: "The values to hash.")])
}
