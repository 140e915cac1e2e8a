import RelayCore

/// Settings for a journal, whichever database holds it: what its decisions depend on.
public struct JournalConfiguration: Sendable {
    /// How long a (dataset, event_name, event_id) stays a duplicate, in seconds. Never below
    /// 48 hours, Meta's own dedupe window for pixel and server events.
    public var dedupeWindowSeconds: Int64
    /// Whether the CRM sink is configured; without it conversions are not queued for the CRM.
    public var crmEnabled: Bool
    /// What a conversion may carry from its person's profile.
    public var consent: ConsentPolicy
    public var limitedDataUse: LimitedDataUsePolicy
    /// Shadow mode: conversions are journaled with CAPI state `shadow`, which no dispatcher
    /// picks up, so nothing reaches Meta and `qa --compare-shadow` can count them.
    public var shadow: Bool
    /// The dedupe rules in the order they are tried; a rule left out never fires.
    public var dedupeRules: [DedupeRule]
    /// How far apart, in seconds of event_time, two events of one identity may be and still be
    /// one conversion under the `identity` rule.
    public var identityWindowSeconds: Int64

    public static let minimumDedupeWindowSeconds: Int64 = 48 * 3600
    public static let defaultDedupeWindowSeconds: Int64 = 7 * 24 * 3600

    public init(
        dedupeWindowSeconds: Int64 = JournalConfiguration.defaultDedupeWindowSeconds,
        crmEnabled: Bool = true, consent: ConsentPolicy = ConsentPolicy(),
        limitedDataUse: LimitedDataUsePolicy = .never, shadow: Bool = false,
        dedupeRules: [DedupeRule] = DedupeRule.allCases, identityWindowSeconds: Int64 = 24 * 3600
    ) {
        self.shadow = shadow
        self.dedupeRules = dedupeRules
        self.identityWindowSeconds = identityWindowSeconds
        self.consent = consent
        self.limitedDataUse = limitedDataUse
        self.dedupeWindowSeconds = max(
            dedupeWindowSeconds, JournalConfiguration.minimumDedupeWindowSeconds)
        self.crmEnabled = crmEnabled
    }
}
