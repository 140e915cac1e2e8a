import RelayCore

/// The mapping table a launch review reads: for each rule, what triggers it, what it fills in
/// the Conversions API event and what the CRM receives.
///
/// Built from the config alone, with the same names the encoder writes, so that it says what
/// the relay would send without sending anything.
public struct RulesTable {
    public enum Format: String, CaseIterable, Sendable {
        case text, markdown
    }

    /// One rule's row.
    public struct Row: Sendable, Equatable {
        public var position: Int
        public var name: String
        public var trigger: String
        public var eventName: String
        /// What every conversion of the rule carries, in the order a review reads it.
        public var capiFields: [String]
        /// What it carries only when its person granted consent.
        public var capiWithConsent: [String]
        /// What it carries when its thread began with a referral (an ad, an m.me link).
        public var capiAfterReferral: [String]
        public var crmFields: [String]
        public var crmAfterReferral: [String]
        /// Said instead of the CRM fields when the relay posts nothing to the CRM.
        public var crmNote: String?
    }

    /// What the CRM column says of a conversion the CRM made itself.
    public static let notPostedBack =
        "not posted back: the relay does not post CRM-originated conversions to the CRM"

    /// The rules' rows, in the order they are tried.
    public var rows: [Row]
    /// The rows of the conversions `crm_echo.stages` make, numbered after the rules.
    public var stageRows: [Row]
    public var configFile: String
    /// Fields added whatever the rule: `opt_out` after an opt-out, LDU flags.
    public var everyEvent: [String]

    public init(configuration: RelayConfiguration, configFile: String) {
        self.configFile = configFile
        let consent = Set(configuration.consent.requiredFor)
        let captured = configuration.consent.captureFromChat ? ["em", "ph"] : []
        let withConsent = captured.filter { consent.contains($0) }.map { "user_data.\($0)" }
        let always = captured.filter { !consent.contains($0) }.map { "user_data.\($0)" }
        everyEvent = ["opt_out=true after an opt-out"]
        if configuration.ldu.mode != "never" {
            everyEvent.append(
                "data_processing_options, data_processing_options_country,"
                    + " data_processing_options_state (ldu.mode \(configuration.ldu.mode))")
        }

        rows = configuration.rules.enumerated().map { index, rule in
            let custom = Self.customData(rule).map { "custom_data.\($0)" }
            return Row(
                position: index + 1, name: rule.name, trigger: Self.trigger(rule.when),
                eventName: rule.event,
                capiFields: [
                    "event_name=\(rule.event)", "event_id", "event_time",
                    "action_source=business_messaging", "messaging_channel=messenger",
                    "user_data.page_id", "user_data.page_scoped_user_id",
                ] + always + custom,
                capiWithConsent: withConsent,
                capiAfterReferral: ["ad_id", "referral_ref", "referral_source"].map {
                    "custom_data.\($0)"
                },
                crmFields: [
                    "event_id", "event_name=\(rule.event)", "event_time", "dataset", "channel",
                    "page_id", "page_scoped_user_id", "rule=\(rule.name)",
                ] + custom,
                crmAfterReferral: ["referral.ref", "referral.source", "referral.ad_id"])
        }
        stageRows = Self.stageRows(configuration, after: rows.count, consent: consent)
    }

    /// A CRM echo whose stage is mapped makes a conversion with the fields
    /// `Relay.receiveCRMEcho` gives it; the identifiers on the CRM record join the person's
    /// profile and travel as far as consent allows.
    static func stageRows(
        _ configuration: RelayConfiguration, after count: Int, consent: Set<String>
    ) -> [Row] {
        let identifiers = ["em", "ph", "external_id"]
        let withConsent = identifiers.filter { consent.contains($0) }.map { "user_data.\($0)" }
        let always = identifiers.filter { !consent.contains($0) }.map { "user_data.\($0)" }
        return (configuration.crmEcho?.stages ?? []).enumerated().map { index, stage in
            let currency =
                stage.currency.map { "custom_data.currency (record currency, else \($0))" }
                ?? "custom_data.currency (record currency)"
            return Row(
                position: count + index + 1, name: "crm_stage:\(stage.stage)",
                trigger: "CRM stage \(stage.stage)", eventName: stage.event,
                capiFields: [
                    "event_name=\(stage.event)", "event_id (from the CRM record and stage)",
                    "event_time (record updated_at)",
                    "action_source=business_messaging (system_generated without a Messenger"
                        + " user)",
                    "messaging_channel=messenger (with a Messenger user)", "user_data.page_id",
                    "user_data.page_scoped_user_id",
                ] + always + ["custom_data.value (record value)", currency],
                capiWithConsent: withConsent, capiAfterReferral: [], crmFields: [],
                crmAfterReferral: [], crmNote: notPostedBack)
        }
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .text: text
        case .markdown: markdown
        }
    }

    /// Blocks of lines, wrapped under 100 columns.
    public var text: String {
        var lines = [
            "Conversion rules in \(configFile), tried in order; the first match makes the"
                + " conversion.",
            "event_id is derived from page, user, event name and message id unless the payload"
                + " supplies",
            "event_id=. Every CAPI event may also carry: " + everyEvent.joined(separator: "; ")
                + ".",
        ]
        for row in rows + stageRows {
            if row.position == rows.count + 1 {
                lines.append("")
                lines.append(
                    "CRM stages in crm_echo.stages: a signed CRM echo of a mapped stage makes"
                        + " a conversion.")
            }
            lines.append("")
            lines.append("\(row.position). \(row.name) → \(row.eventName)")
            lines += Self.wrap(label: "trigger", [row.trigger])
            lines += Self.wrap(label: "CAPI", row.capiFields)
            if !row.capiWithConsent.isEmpty {
                lines += Self.wrap(label: "  consent", row.capiWithConsent)
            }
            if !row.capiAfterReferral.isEmpty {
                lines += Self.wrap(label: "  referral", row.capiAfterReferral)
            }
            if let note = row.crmNote {
                lines += Self.wrap(label: "CRM", [note])
                continue
            }
            lines += Self.wrap(label: "CRM", row.crmFields)
            lines += Self.wrap(label: "  referral", row.crmAfterReferral)
        }
        return lines.joined(separator: "\n")
    }

    /// One table, one row per rule, for pasting into a review document.
    public var markdown: String {
        var lines = [
            "Conversion rules in `\(configFile)`, tried in order; the first match makes the"
                + " conversion. event_id is derived from page, user, event name and message id"
                + " unless the payload supplies `event_id=`. Every CAPI event may also carry: "
                + everyEvent.joined(separator: "; ") + "."
                + (stageRows.isEmpty
                    ? ""
                    : " The `crm_stage:` rows follow `crm_echo.stages`: a signed CRM echo of a"
                        + " mapped stage makes that conversion."),
            "",
            "| # | rule | trigger | event_name | CAPI fields | CRM payload |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        func cell(_ items: [String]) -> String {
            items.map { $0.replacingOccurrences(of: "|", with: "\\|") }
                .joined(separator: "<br>")
        }
        for row in rows + stageRows {
            var capi = cell(row.capiFields)
            if !row.capiWithConsent.isEmpty {
                capi += "<br>with consent: " + row.capiWithConsent.joined(separator: ", ")
            }
            if !row.capiAfterReferral.isEmpty {
                capi += "<br>after a referral: " + row.capiAfterReferral.joined(separator: ", ")
            }
            let crm =
                row.crmNote.map { cell([$0]) }
                ?? cell(row.crmFields) + "<br>after a referral: "
                + row.crmAfterReferral.joined(separator: ", ")
            lines.append(
                "| \(row.position) | `\(row.name)` | \(cell([row.trigger])) | `\(row.eventName)` |"
                    + " \(capi) | \(crm) |")
        }
        return lines.joined(separator: "\n")
    }

    /// custom_data members a rule fills: its fixed extras, then value and currency.
    static func customData(_ rule: MappingRule) -> [String] {
        var fields = (rule.customData ?? [:]).keys.sorted().map { key -> String in
            if let value = rule.customData?[key]?.stringValue { return "\(key)=\(value)" }
            return key
        }
        fields.append(
            rule.value.map { "value=\(RulesTable.number($0))" } ?? "value (payload value=)")
        fields.append(rule.currency.map { "currency=\($0)" } ?? "currency (payload currency=)")
        return fields
    }

    static func trigger(_ when: MappingRule.Conditions) -> String {
        var parts: [String] = []
        if let value = when.postback { parts.append("postback \(value)") }
        if let value = when.quickReply { parts.append("quick reply \(value)") }
        if let value = when.optin { parts.append("optin \(value)") }
        if let value = when.referralRef { parts.append("referral ref \(value)") }
        if let value = when.referralSource { parts.append("referral source \(value)") }
        if let value = when.text { parts.append("text matching /\(value)/") }
        return parts.joined(separator: " and ")
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// `label` then the items, comma-separated, continued under the first item.
    static func wrap(label: String, _ items: [String], width: Int = 100) -> [String] {
        let indent = String(repeating: " ", count: 3 + 11)
        var lines: [String] = []
        var current = "   " + label.padding(11)
        var first = true
        for (index, item) in items.enumerated() {
            let piece = item + (index < items.count - 1 ? "," : "")
            if !first && current.count + 1 + piece.count > width {
                lines.append(current)
                current = indent + piece
            } else {
                current += (first ? "" : " ") + piece
            }
            first = false
        }
        lines.append(current)
        return lines
    }
}
