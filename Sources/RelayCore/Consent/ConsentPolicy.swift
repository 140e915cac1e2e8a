/// Which fields need consent, which signals grant or revoke it, and what happens without it.
public struct ConsentPolicy: Sendable {
    /// What to do with a conversion whose person has not granted consent.
    public enum WithoutConsent: String, Sendable, Codable {
        /// Send it without the consent-only fields, and record their names.
        case dropFields = "drop_fields"
        /// Do not send it at all.
        case dropEvent = "drop_event"
    }

    /// What the policy decided for one conversion.
    public struct Decision: Sendable, Equatable {
        /// The hashed identifiers the event may carry.
        public var userData: [String: [String]]
        /// Keys removed for lack of consent: names only, never values.
        public var droppedFields: [String]
        public var optOut: Bool
        /// True when the whole event must not be sent.
        public var dropEvent: Bool
    }

    public var grant: [SignalMatcher]
    public var revoke: [SignalMatcher]
    /// CAPI keys that may only be sent with consent.
    public var requiredFor: Set<String>
    public var withoutConsent: WithoutConsent

    public init(
        grant: [SignalMatcher] = [], revoke: [SignalMatcher] = [],
        requiredFor: Set<String> = Set(CustomerField.allCases.map(\.rawValue)),
        withoutConsent: WithoutConsent = .dropFields
    ) {
        self.grant = grant
        self.revoke = revoke
        self.requiredFor = requiredFor
        self.withoutConsent = withoutConsent
    }

    /// The consent a signal expresses: a revocation wins over a grant in the same signal.
    public func consent(expressedBy signal: InboundSignal) -> ConsentState? {
        if revoke.contains(where: { $0.matches(signal) }) { return .optedOut }
        if grant.contains(where: { $0.matches(signal) }) { return .granted }
        return nil
    }

    /// What a conversion of this person may carry.
    public func decide(for profile: ContactProfile) -> Decision {
        guard profile.consent != .granted else {
            return Decision(
                userData: profile.identifiers, droppedFields: [], optOut: false, dropEvent: false)
        }
        var kept = profile.identifiers
        var dropped: [String] = []
        for key in profile.identifiers.keys.sorted() where requiredFor.contains(key) {
            kept[key] = nil
            dropped.append(key)
        }
        return Decision(
            userData: kept, droppedFields: dropped, optOut: profile.consent == .optedOut,
            dropEvent: withoutConsent == .dropEvent)
    }
}
