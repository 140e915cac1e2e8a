/// What a person has said about sharing their details, as the relay last heard it.
public enum ConsentState: String, Sendable, Codable, Equatable {
    /// Nothing said yet: treated as withheld.
    case unknown
    case granted
    /// Said no: consent-only fields go, and the event carries `opt_out: true`.
    case optedOut = "opted_out"
}

/// What one signal changes in a person's contact profile.
public struct ProfileUpdate: Sendable, Equatable {
    /// A consent the signal grants or revokes, if any.
    public var consent: ConsentState?
    /// Where that consent came from: `messenger_optin`, `messenger_quick_reply`,
    /// `server_event`, `crm_echo`, …
    public var consentSource: String?
    /// Hashed identifiers found in the signal, by CAPI key (`em`, `ph`).
    public var identifiers: [String: [String]]

    public init(
        consent: ConsentState? = nil, identifiers: [String: [String]] = [:],
        consentSource: String? = nil
    ) {
        self.consent = consent
        self.identifiers = identifiers
        self.consentSource = consentSource
    }

    public var isEmpty: Bool { consent == nil && identifiers.isEmpty }
}

/// One person's profile per page: consent and hashed identifiers. Never raw personal data.
public struct ContactProfile: Sendable, Equatable, Codable {
    public var consent: ConsentState
    public var identifiers: [String: [String]]
    /// Where the consent state came from; nil while nothing was said.
    public var consentSource: String?

    /// The most values kept per key: the newest win, so a corrected email replaces a typo.
    public static let maxValuesPerKey = 5

    public init(consent: ConsentState = .unknown, identifiers: [String: [String]] = [:]) {
        self.consent = consent
        self.identifiers = identifiers
    }

    /// The profile after an update.
    public func applying(_ update: ProfileUpdate) -> ContactProfile {
        var next = self
        if let consent = update.consent {
            next.consent = consent
            next.consentSource = update.consentSource ?? next.consentSource
        }
        for (key, values) in update.identifiers {
            var kept = (next.identifiers[key] ?? []).filter { !values.contains($0) } + values
            if kept.count > Self.maxValuesPerKey {
                kept.removeFirst(kept.count - Self.maxValuesPerKey)
            }
            next.identifiers[key] = kept
        }
        return next
    }
}
