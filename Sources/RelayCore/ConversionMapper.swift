import Foundation

/// Turns signals into conversions with the config's rules.
///
/// Pure: the thread's first referral is added later, inside the journal transaction, because it
/// depends on what earlier deliveries stored.
public struct ConversionMapper: Sendable {
    private let rules: [CompiledRule]
    private let datasets: [String: String]

    /// - Parameters:
    ///   - rules: tried in order; the first match wins.
    ///   - datasets: page id → dataset (pixel) id; several pages may share one dataset.
    /// - Throws: `MappingError` for a text pattern that is not a valid regular expression.
    public init(rules: [MappingRule], datasets: [String: String]) throws {
        self.rules = try rules.map(CompiledRule.init)
        self.datasets = datasets
    }

    /// The conversion this signal makes, or why it makes none.
    public func map(_ signal: InboundSignal) -> MappingOutcome {
        guard signal.kind.canConvert else {
            return .notConversion(reason: ConversionMapper.reason(forInert: signal.kind))
        }
        guard !signal.pageScopedUserID.isEmpty, !signal.pageID.isEmpty else {
            return .notConversion(reason: "the item names no page-scoped user or no page")
        }
        guard let rule = rules.first(where: { $0.matches(signal) }) else {
            return .notConversion(reason: "no rule matched the \(signal.kind.rawValue)")
        }
        guard let dataset = datasets[signal.pageID] else {
            return .notConversion(
                reason: "rule \(rule.rule.name) matched, but page \(signal.pageID) has no dataset"
                    + " in the config")
        }
        let made = conversion(from: signal, rule: rule.rule, dataset: dataset)

        // Meta rejects a Purchase without value and currency, and with it the whole batch; such
        // a conversion is refused here, with the reason, instead of sinking other events later.
        if made.eventName == "Purchase"
            && (made.customData["value"] == nil || made.customData["currency"] == nil)
        {
            return .notConversion(
                reason: "rule \(rule.rule.name) makes a Purchase without value and currency;"
                    + " set them in the rule or as value= and currency= in the payload")
        }
        return .conversion(made)
    }

    private func conversion(
        from signal: InboundSignal, rule: MappingRule, dataset: String
    ) -> Conversion {
        let payload = signal.payload.map(Payload.init)

        // custom_data: the rule's extras first, then value and currency, which a payload may
        // override because only the bot knows the order total.
        var customData = rule.customData ?? [:]
        if let value = payload?.parameters["value"].flatMap(Double.init) ?? rule.value {
            customData["value"] = .float(value)
        }
        if let currency = payload?.parameters["currency"] ?? rule.currency {
            customData["currency"] = .string(currency.uppercased())
        }

        // A supplied id wins, so the pixel and CRM that received it before the conversion
        // happened still match it.
        let supplied = payload?.parameters["event_id"].flatMap {
            EventID.isValidSupplied($0) ? $0 : nil
        }
        let eventID =
            supplied
            ?? EventID.derive(
                pageID: signal.pageID, pageScopedUserID: signal.pageScopedUserID,
                eventName: rule.event, anchor: EventID.anchor(for: signal))

        return Conversion(
            eventID: eventID, eventIDSupplied: supplied != nil, eventName: rule.event,
            dataset: dataset, pageID: signal.pageID, pageScopedUserID: signal.pageScopedUserID,
            eventTime: signal.timestampMillis / 1000, channel: signal.channel,
            customData: customData, rule: rule.name)
    }

    private static func reason(forInert kind: SignalKind) -> String {
        switch kind {
        case .echo: "echo of the page's own message"
        case .read: "read receipt"
        case .delivery: "delivery receipt"
        default: "messaging item of a kind the relay does not map"
        }
    }
}

/// Why a set of rules cannot be used.
public struct MappingError: Error, CustomStringConvertible {
    public var rule: String
    public var message: String
    public var description: String { "rule \(rule): \(message)" }
}

/// A rule with its conditions compiled once.
private struct CompiledRule: Sendable {
    let rule: MappingRule
    let matcher: SignalMatcher

    init(_ rule: MappingRule) throws {
        self.rule = rule
        do {
            matcher = try SignalMatcher(rule.when)
        } catch {
            throw MappingError(rule: rule.name, message: error.message)
        }
    }

    func matches(_ signal: InboundSignal) -> Bool {
        matcher.matches(signal)
    }
}

/// Why a set of conditions cannot be compiled.
public struct SignalMatcherError: Error, Equatable {
    public var message: String
}

/// Rule conditions compiled once, for mapping rules and for consent grants and revocations.
public struct SignalMatcher: Sendable {
    public let conditions: MappingRule.Conditions
    private let textPattern: TextPattern?

    /// - Throws: `SignalMatcherError` for no condition at all, or a text pattern that is not a
    ///   valid regular expression.
    public init(_ conditions: MappingRule.Conditions) throws(SignalMatcherError) {
        guard !conditions.isEmpty else {
            throw SignalMatcherError(message: "'when' has no condition")
        }
        self.conditions = conditions
        if let pattern = conditions.text {
            guard let compiled = try? TextPattern(pattern) else {
                throw SignalMatcherError(message: "text pattern '\(pattern)' is not a valid regex")
            }
            textPattern = compiled
        } else {
            textPattern = nil
        }
    }

    /// Whether every condition holds for the signal.
    public func matches(_ signal: InboundSignal) -> Bool {
        let when = conditions
        let payloadName = signal.payload.map { Payload($0).name }

        if let pattern = when.postback {
            guard signal.kind == .postback, let name = payloadName, globMatches(pattern, name)
            else { return false }
        }
        if let pattern = when.quickReply {
            guard signal.kind == .quickReply, let name = payloadName, globMatches(pattern, name)
            else { return false }
        }
        if let pattern = when.optin {
            guard signal.kind == .optin else { return false }
            let name = payloadName ?? signal.referral?.ref ?? ""
            guard globMatches(pattern, name) else { return false }
        }
        if let pattern = when.referralRef {
            guard let ref = signal.referral?.ref, globMatches(pattern, ref) else { return false }
        }
        if let source = when.referralSource {
            guard let actual = signal.referral?.source,
                actual.caseInsensitiveCompare(source) == .orderedSame
            else { return false }
        }
        if let textPattern {
            guard signal.kind == .message || signal.kind == .quickReply,
                let text = signal.text, textPattern.matches(text)
            else { return false }
        }
        return true
    }
}

/// A compiled regular expression searched anywhere in a text.
///
/// NSRegularExpression is documented as safe to use from several threads once built, which is
/// why sharing one instance across the server's threads is sound.
private final class TextPattern: @unchecked Sendable {
    private let expression: NSRegularExpression

    init(_ pattern: String) throws {
        expression = try NSRegularExpression(pattern: pattern)
    }

    func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..., in: text)
        return expression.firstMatch(in: text, range: range) != nil
    }
}
