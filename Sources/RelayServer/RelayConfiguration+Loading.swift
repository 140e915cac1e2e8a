import Foundation
import RelayCommandLine
import RelayCore
import RelayJournal

extension RelayConfiguration {
    /// Reads, decodes and checks a config file, reporting every problem at once.
    public static func load(path: String) throws(ConfigErrors) -> RelayConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors(
                file: path, errors: [ConfigError(path: "", message: "cannot read the file")])
        }
        var configuration = try parse(data, file: path)

        // A relative journal path means beside the config, not wherever serve was started; so
        // does the feed's socket when the journal is a database with no file to sit beside.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        switch configuration.journalLocation {
        case .sqlite(let journal) where !journal.hasPrefix("/"):
            configuration.journal = directory.appendingPathComponent(journal).path
        case .postgres where configuration.feed.socket == nil:
            configuration.feed.socket = directory.appendingPathComponent("capi-relay.sock").path
        default: break
        }
        return configuration
    }

    /// Decodes and checks config text, reporting every problem at once, each with the line of
    /// its key when the text has one.
    /// - Parameter file: named in the errors.
    public static func parse(_ data: Data, file: String?) throws(ConfigErrors) -> RelayConfiguration
    {
        // Syntax first, with a line and column: nothing else can be said about broken text.
        // Foundation has the last word on what parses, so text it reads is never refused here
        // for the scanner's sake; its problems are then reported without lines.
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        let scanned = JSON5Locator.locate(Array(data))
        let tree: JSONValue
        do {
            tree = try decoder.decode(JSONValue.self, from: data)
        } catch {
            if case .failure(let syntax) = scanned {
                throw ConfigErrors(
                    file: file,
                    errors: [
                        ConfigError(
                            path: "", message: syntax.message, line: syntax.position.line,
                            column: syntax.position.column)
                    ])
            }
            throw ConfigErrors(
                file: file,
                errors: [
                    ConfigError(path: "", message: "not valid JSON5: \(jsonErrorDetail(error))")
                ])
        }
        let locator = (try? scanned.get()) ?? JSON5Locator()

        // Every other check is about keys, so a top level without any would only be reported
        // as "a value of another shape", which names neither the shape nor where it is wrong.
        guard case .object = tree else {
            let message =
                "the top level is \(shapeName(tree)); a config is one JSON object (JSON with"
                + " comments), { … }"
            throw ConfigErrors(file: file, errors: [ConfigError(path: "", message: message)])
        }

        var errors = unknownKeys(in: tree)
        for duplicate in locator.duplicates {
            errors.append(
                ConfigError(
                    path: duplicate.path,
                    message: "given twice (first on line \(duplicate.first.line)); only one of"
                        + " them would count, so keep one",
                    line: duplicate.again.line))
        }
        let (configuration, decodingErrors) = decodeCollectingErrors(tree, decoder: decoder)
        errors += decodingErrors
        if let configuration {
            // A key already reported for its type is not reported again for the stand-in
            // value it was given to let decoding go on.
            let reported = decodingErrors.map(\.path)
            errors += configuration.problems().filter { problem in
                !reported.contains { Self.path(problem.path, isWithin: $0) }
            }
            if errors.isEmpty { return configuration }
        }

        // In file order, each with the line of its key.
        let located = errors.map { error in
            var error = error
            error.line = error.line ?? locator.line(of: error.path)
            return error
        }
        let ordered = located.enumerated().sorted { lhs, rhs in
            (lhs.element.line ?? 0, lhs.offset) < (rhs.element.line ?? 0, rhs.offset)
        }.map(\.element)
        throw ConfigErrors(file: file, errors: ordered)
    }

    /// Decodes the config, and on each decoding error records it, puts a stand-in value of the
    /// expected type where the bad one was (or drops it, so that its default applies) and tries
    /// again, so that one wrong type does not hide every problem after it. JSONDecoder stops at
    /// the first error; decoding again is cheap for a file this size.
    /// - Returns: the config decoded with stand-ins (nil if decoding never got through), and the
    ///   errors found on the way.
    static func decodeCollectingErrors(_ tree: JSONValue, decoder: JSONDecoder)
        -> (RelayConfiguration?, [ConfigError])
    {
        var tree = tree
        var errors: [ConfigError] = []
        var patches: [String: Int] = [:]
        for _ in 0..<64 {
            let error: DecodingError
            do {
                return (
                    try decoder.decode(RelayConfiguration.self, from: Data(tree.serialized())),
                    errors
                )
            } catch let decodingError as DecodingError {
                error = decodingError
            } catch {
                errors.append(ConfigError(path: "", message: "\(error)"))
                return (nil, errors)
            }

            let problem = describe(error)
            if !errors.contains(where: { Self.path(problem.path, isWithin: $0.path) }) {
                errors.append(problem)
            }
            // A key that keeps failing with every stand-in ends the attempt: what was found
            // so far is reported.
            patches[problem.path, default: 0] += 1
            guard patches[problem.path]! <= 3, let patched = patch(tree, for: error) else {
                return (nil, errors)
            }
            tree = patched
        }
        return (nil, errors)
    }

    /// The tree with a stand-in where decoding failed: a value of the type it expected, or,
    /// for an object member of another shape, no value so that its default applies.
    private static func patch(_ tree: JSONValue, for error: DecodingError) -> JSONValue? {
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return tree.replacing(context.codingPath[...], with: standIn(for: type))
        case .keyNotFound(let key, let context):
            // The type is unknown here: a string first; a type mismatch then corrects it.
            return tree.replacing((context.codingPath + [key])[...], with: .string(""))
        case .dataCorrupted(let context):
            return tree.replacing(context.codingPath[...], with: nil)
        @unknown default:
            return nil
        }
    }

    private static func standIn(for type: Any.Type) -> JSONValue? {
        switch type {
        case is String.Type: .string("")
        case is Int.Type, is Int64.Type: .integer(0)
        case is Double.Type: .float(0)
        case is Bool.Type: .bool(false)
        case is [Any].Type: .array([])
        default:
            String(describing: type).hasPrefix("Array<") ? .array([]) : .object([:])
        }
    }

    /// Whether `path` is `ancestor` or lies inside it (`rules[1].when` within `rules[1]`).
    static func path(_ path: String, isWithin ancestor: String) -> Bool {
        guard path.hasPrefix(ancestor) else { return false }
        if path.count == ancestor.count || ancestor.isEmpty { return true }
        let next = path[path.index(path.startIndex, offsetBy: ancestor.count)]
        return next == "." || next == "["
    }

    /// Everything wrong with a decoded config: values out of range, rules that cannot work.
    public func problems() -> [ConfigError] {
        var errors: [ConfigError] = []
        func problem(_ path: String, _ message: String) {
            errors.append(ConfigError(path: path, message: message))
        }

        if ListenAddress(listen) == nil {
            problem("listen", "'\(listen)' is not host:port, e.g. 127.0.0.1:8080")
        }
        if journal.isEmpty { problem("journal", "must name a file or a postgres:// URL") }
        if case .postgres(let url) = journalLocation, let why = Self.postgresURLProblem(url) {
            problem("journal", why)
        }
        if let node, node.isEmpty || node.count > 64 || node.contains(where: \.isWhitespace) {
            problem("node", "'\(node)' must be 1 to 64 characters without spaces, e.g. relay-1")
        }
        // Only a shared journal leases; a SQLite journal has one relay and never reads it.
        let slowest =
            (crm?.timeoutSeconds ?? 0) > capi.timeoutSeconds
            ? ("crm.timeout_seconds", crm?.timeoutSeconds ?? 0)
            : ("capi.timeout_seconds", capi.timeoutSeconds)
        if !(journalLeaseSeconds >= 1) {
            problem("journal_lease_seconds", "must be at least 1 second")
        } else if case .postgres = journalLocation, journalLeaseSeconds <= 2 * slowest.1 {
            problem(
                "journal_lease_seconds",
                "\(journalLeaseSeconds) is not more than twice \(slowest.0) (\(slowest.1)): a"
                    + " claim could run out while its request is on the wire, and another relay"
                    + " send the same events")
        }
        if http.maxBodyBytes < 1024 { problem("http.max_body_bytes", "must be at least 1024") }
        if http.maxConnections < 1 { problem("http.max_connections", "must be at least 1") }

        if pages.isEmpty {
            problem("pages", "no page is mapped to a dataset; add {page_id, dataset} entries")
        }
        var seenPages: Set<String> = []
        for (index, page) in pages.enumerated() {
            if !isDigits(page.pageID) {
                problem("pages[\(index)].page_id", "'\(page.pageID)' is not a numeric page id")
            }
            if !isDigits(page.dataset) {
                problem("pages[\(index)].dataset", "'\(page.dataset)' is not a numeric dataset id")
            }
            if !seenPages.insert(page.pageID).inserted {
                problem("pages[\(index)].page_id", "page \(page.pageID) is mapped twice")
            }
        }

        if URLComponents(string: capi.graphURL)?.scheme.map({ ["http", "https"].contains($0) })
            != true
        {
            problem("capi.graph_url", "'\(capi.graphURL)' is not an http(s) URL")
        }
        if capi.apiVersion.range(of: #"^v[0-9]+\.[0-9]+$"#, options: .regularExpression) == nil {
            problem("capi.api_version", "'\(capi.apiVersion)' is not a Graph version like v25.0")
        }
        if !(1...1000).contains(capi.batchSize) {
            problem("capi.batch_size", "\(capi.batchSize) is outside 1…1000 (Meta's limit)")
        }
        if capi.flushIntervalSeconds <= 0 { problem("capi.flush_interval_seconds", "must be > 0") }
        if capi.timeoutSeconds <= 0 { problem("capi.timeout_seconds", "must be > 0") }
        if capi.maxAttempts < 1 { problem("capi.max_attempts", "must be at least 1") }
        func delivery(
            _ section: String, concurrency: Int, rate: Double?, base: Double, max: Double
        ) {
            if !(1...64).contains(concurrency) {
                problem("\(section).concurrency", "\(concurrency) is outside 1…64")
            }
            if let rate, rate <= 0 {
                problem(
                    "\(section).requests_per_second",
                    "must be above 0; leave it out for no limit")
            }
            if base <= 0 { problem("\(section).backoff_base_seconds", "must be > 0") }
            if max < base {
                problem(
                    "\(section).backoff_max_seconds",
                    "\(formatNumber(max)) is below backoff_base_seconds (\(formatNumber(base)))")
            }
        }
        delivery(
            "capi", concurrency: capi.concurrency, rate: capi.requestsPerSecond,
            base: capi.backoffBaseSeconds, max: capi.backoffMaxSeconds)
        if shutdown.deadlineSeconds < 0 {
            problem("shutdown.deadline_seconds", "must be 0 or more")
        }
        errors += readinessProblems()

        if let crm {
            if URLComponents(string: crm.url)?.scheme.map({ ["http", "https"].contains($0) })
                != true
            {
                problem("crm.url", "'\(crm.url)' is not an http(s) URL")
            }
            if crm.timeoutSeconds <= 0 { problem("crm.timeout_seconds", "must be > 0") }
            if crm.maxAttempts < 1 { problem("crm.max_attempts", "must be at least 1") }
            delivery(
                "crm", concurrency: crm.concurrency, rate: crm.requestsPerSecond,
                base: crm.backoffBaseSeconds, max: crm.backoffMaxSeconds)
        }
        if dedupe.windowHours < 48 {
            problem(
                "dedupe.window_hours",
                "\(formatNumber(dedupe.windowHours)) hours is too short; use at least 48, the"
                    + " window Meta itself applies to pixel and server copies of an event")
        }

        let known = DedupeRule.allCases.map(\.rawValue)
        for (index, rule) in dedupe.rules.enumerated() where !known.contains(rule) {
            problem(
                "dedupe.rules[\(index)]",
                "'\(rule)' is not a dedupe rule; expected one of \(known.joined(separator: ", "))")
        }
        if Set(dedupe.rules).count != dedupe.rules.count {
            problem("dedupe.rules", "names a rule twice")
        }
        if dedupe.identityWindowHours <= 0 || dedupe.identityWindowHours > dedupe.windowHours {
            problem(
                "dedupe.identity_window_hours",
                "\(formatNumber(dedupe.identityWindowHours)) is outside 0…window_hours")
        }
        if let dataset = serverEvents?.dataset, !isDigits(dataset) {
            problem("server_events.dataset", "'\(dataset)' is not a numeric dataset id")
        }
        if let dataset = crmEcho?.dataset, !isDigits(dataset) {
            problem("crm_echo.dataset", "'\(dataset)' is not a numeric dataset id")
        }
        if let capiIngest, !["granted", "unknown"].contains(capiIngest.consent) {
            problem(
                "capi_ingest.consent", "'\(capiIngest.consent)' is not granted or unknown")
        }
        var seenStages: Set<String> = []
        for (index, stage) in (crmEcho?.stages ?? []).enumerated() {
            let path = "crm_echo.stages[\(index)]"
            if stage.stage.isEmpty { problem("\(path).stage", "must not be empty") }
            if !seenStages.insert(stage.stage.lowercased()).inserted {
                problem("\(path).stage", "stage '\(stage.stage)' is mapped twice")
            }
            if stage.event.isEmpty { problem("\(path).event", "must name an event") }
            if let currency = stage.currency,
                currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isLetter })
            {
                problem("\(path).currency", "'\(currency)' is not a 3-letter ISO 4217 code")
            }
        }
        for (index, origin) in (pixelEcho?.allowedOrigins ?? []).enumerated()
        where origin != "*" && !(origin.hasPrefix("https://") || origin.hasPrefix("http://")) {
            problem(
                "pixel_echo.allowed_origins[\(index)]",
                "'\(origin)' is not * or an origin like https://example.com")
        }

        if !(1...100_000).contains(feed.history) {
            problem("feed.history", "\(feed.history) is outside 1…100000")
        }
        if feed.clientQueue < 100 { problem("feed.client_queue", "must be at least 100") }
        if feedSocketPath.utf8.count > 107 {
            problem(
                "feed.socket", "'\(feedSocketPath)' is longer than a Unix socket path may be (107)")
        }

        for (name, list) in [("grant", consent.grant), ("revoke", consent.revoke)] {
            for (index, conditions) in list.enumerated() {
                do {
                    _ = try SignalMatcher(conditions)
                } catch {
                    problem("consent.\(name)[\(index)]", error.message)
                }
            }
        }
        let keys = Set(CustomerField.allCases.map(\.rawValue))
        for (index, key) in consent.requiredFor.enumerated() where !keys.contains(key) {
            problem(
                "consent.required_for[\(index)]",
                "'\(key)' is not a customer-information key; expected one of "
                    + keys.sorted().joined(separator: ", "))
        }
        if ldu.policy == nil {
            problem("ldu.mode", "'\(ldu.mode)' is not never, always or by_region")
        }
        if ![0, 1].contains(ldu.country) {
            problem("ldu.country", "\(ldu.country) is not 1 (USA) or 0 (let Meta geolocate)")
        }
        if ![0, 1000].contains(ldu.state) {
            problem("ldu.state", "\(ldu.state) is not 1000 (California) or 0 (let Meta geolocate)")
        }

        if ![RelayConfiguration.liveMode, RelayConfiguration.shadowMode].contains(mode) {
            problem("mode", "'\(mode)' is not live or shadow")
        }
        if qa.maxMismatches < 0 { problem("qa.max_mismatches", "must be 0 or more") }
        for (key, name) in [
            ("event_id", qa.crmColumns.eventID), ("record_id", qa.crmColumns.recordID),
            ("created_at", qa.crmColumns.createdAt),
        ] where name.isEmpty {
            problem("qa.crm_columns.\(key)", "must name a column")
        }

        if rules.isEmpty {
            problem("rules", "no rules: nothing would become a conversion")
        }
        var seenRules: Set<String> = []
        for (index, rule) in rules.enumerated() {
            let path = "rules[\(index)]"
            if rule.name.isEmpty { problem("\(path).name", "must not be empty") }
            if !seenRules.insert(rule.name).inserted {
                problem("\(path).name", "rule name '\(rule.name)' is used twice")
            }
            if rule.event.isEmpty { problem("\(path).event", "must name an event") }
            if rule.when.isEmpty { problem("\(path).when", "has no condition") }
            if let currency = rule.currency,
                currency.count != 3 || !currency.allSatisfy({ $0.isASCII && $0.isLetter })
            {
                problem("\(path).currency", "'\(currency)' is not a 3-letter ISO 4217 code")
            }
            if let pattern = rule.when.text,
                (try? NSRegularExpression(pattern: pattern)) == nil
            {
                problem("\(path).when.text", "'\(pattern)' is not a valid regular expression")
            }
        }

        for (path, source) in secretSources where source.env == nil && source.file == nil {
            problem(path, "names neither env nor file")
        }
        return errors
    }

    /// Every secret the config names, by key path.
    var secretSources: [(String, SecretSource)] {
        var sources = [
            ("messenger.app_secret", messenger.appSecret),
            ("messenger.verify_token", messenger.verifyToken),
            ("capi.access_token", capi.accessToken),
        ]
        if let crm { sources.append(("crm.secret", crm.secret)) }
        if let serverEvents { sources.append(("server_events.token", serverEvents.token)) }
        if let capiIngest { sources.append(("capi_ingest.token", capiIngest.token)) }
        if let crmEcho { sources.append(("crm_echo.secret", crmEcho.secret)) }
        return sources
    }

    /// Page id → dataset id.
    public var datasets: [String: String] {
        Dictionary(pages.map { ($0.pageID, $0.dataset) }, uniquingKeysWith: { first, _ in first })
    }

    private func formatNumber(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private func isDigits(_ value: String) -> Bool {
        !value.isEmpty && value.allSatisfy { $0.isASCII && $0.isNumber }
    }

    // MARK: Unknown keys

    /// Keys the relay does not know, which would otherwise be ignored without a word: a
    /// mistyped `flush_intervall_seconds` must not silently keep the default.
    private static func unknownKeys(in tree: JSONValue) -> [ConfigError] {
        let secret = ["env", "file"]
        let schema: [String: [String]] = [
            "": CodingKeys.allCases.map(\.rawValue),
            "http": HTTPLimits.CodingKeys.allCases.map(\.rawValue),
            "messenger": Messenger.CodingKeys.allCases.map(\.rawValue),
            "messenger.app_secret": secret,
            "messenger.verify_token": secret,
            "pages[]": PageMapping.CodingKeys.allCases.map(\.rawValue),
            "capi": CAPI.CodingKeys.allCases.map(\.rawValue),
            "capi.access_token": secret,
            "crm": CRM.CodingKeys.allCases.map(\.rawValue),
            "crm.secret": secret,
            "dedupe": Dedupe.CodingKeys.allCases.map(\.rawValue),
            "feed": Feed.CodingKeys.allCases.map(\.rawValue),
            "consent": Consent.CodingKeys.allCases.map(\.rawValue),
            "consent.grant[]": MappingRule.Conditions.configKeys,
            "consent.revoke[]": MappingRule.Conditions.configKeys,
            "ldu": LDU.CodingKeys.allCases.map(\.rawValue),
            "ldu.regions[]": ["country", "state"],
            "server_events": ServerEvents.CodingKeys.allCases.map(\.rawValue),
            "server_events.token": secret,
            "capi_ingest": CAPIIngest.CodingKeys.allCases.map(\.rawValue),
            "capi_ingest.token": secret,
            "crm_echo": CRMEcho.CodingKeys.allCases.map(\.rawValue),
            "crm_echo.secret": secret,
            "crm_echo.stages[]": CRMEcho.Stage.CodingKeys.allCases.map(\.rawValue),
            "pixel_echo": PixelEcho.CodingKeys.allCases.map(\.rawValue),
            "shutdown": Shutdown.CodingKeys.allCases.map(\.rawValue),
            "readiness": Readiness.CodingKeys.allCases.map(\.rawValue),
            "rules[]": MappingRule.configKeys,
            "rules[].when": MappingRule.Conditions.configKeys,
            "qa": QA.CodingKeys.allCases.map(\.rawValue),
            "qa.crm_columns": CRMColumns.CodingKeys.allCases.map(\.rawValue),
        ]

        var errors: [ConfigError] = []
        func walk(_ node: JSONValue, schemaPath: String, path: String) {
            if let array = node.arrayValue {
                for (index, element) in array.enumerated() {
                    walk(element, schemaPath: schemaPath + "[]", path: "\(path)[\(index)]")
                }
                return
            }
            guard let object = node.objectValue, let known = schema[schemaPath] else {
                return
            }
            for key in object.keys.sorted() {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                guard known.contains(key) else {
                    let message =
                        Suggestion.closest(to: key, among: known).map {
                            "unknown key; did you mean '\($0)'?"
                        } ?? "unknown key; expected one of \(known.joined(separator: ", "))"
                    errors.append(ConfigError(path: childPath, message: message))
                    continue
                }
                let childSchema = schemaPath.isEmpty ? key : "\(schemaPath).\(key)"
                if key != "custom_data" {
                    walk(object[key]!, schemaPath: childSchema, path: childPath)
                }
            }
        }
        walk(tree, schemaPath: "", path: "")
        return errors
    }

    private static func describe(_ error: DecodingError) -> ConfigError {
        func path(_ context: DecodingError.Context) -> String {
            var out = ""
            for key in context.codingPath {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out
        }
        switch error {
        case .typeMismatch(let type, let context):
            return ConfigError(path: path(context), message: "expected \(typeName(type))")
        case .valueNotFound(let type, let context):
            return ConfigError(path: path(context), message: "expected \(typeName(type)), got null")
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return ConfigError(
                path: parent.isEmpty ? key.stringValue : "\(parent).\(key.stringValue)",
                message: "is required")
        case .dataCorrupted(let context):
            return ConfigError(path: path(context), message: context.debugDescription)
        @unknown default:
            return ConfigError(path: "", message: "cannot decode the config")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "a value of another shape"
        }
    }

    /// What a JSON value is, for a message: `an array`, `a string`.
    private static func shapeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .integer, .float: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private static func jsonErrorDetail(_ error: Error) -> String {
        if case .dataCorrupted(let context) = error as? DecodingError {
            return context.underlyingError.map { ($0 as NSError).debugDescriptionText }
                ?? context.debugDescription
        }
        return "syntax error"
    }
}

/// A `host:port` pair to listen on.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: UInt16

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"),
            let port = UInt16(text[text.index(after: colon)...])
        else { return nil }
        let host = String(text[..<colon])
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

extension NSError {
    /// Foundation's parser explains a syntax error (with its line) in the debug description.
    fileprivate var debugDescriptionText: String {
        (userInfo[NSDebugDescriptionErrorKey] as? String) ?? localizedDescription
    }
}
