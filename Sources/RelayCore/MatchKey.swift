/// The identifiers Meta matches a conversion to a person by, as the relay counts them for its
/// own estimate of match quality: the share of conversions that carry each one.
public enum MatchKey {
    /// The `user_data` keys counted, in the order reports show them.
    public static let all = ["page_scoped_user_id", "em", "ph", "external_id", "fbc", "fbp"]

    /// The keys of ``all`` that the conversion's CAPI event carries with a non-empty value.
    public static func carried(by conversion: Conversion) -> [String] {
        carried(in: CAPIEventEncoder.userData(conversion))
    }

    /// The keys of ``all`` that a CAPI event's `user_data` carries with a non-empty value.
    public static func carried(in userData: [String: JSONValue]) -> [String] {
        all.filter { key in
            guard let value = userData[key] else { return false }
            return value.stringValue.map { !$0.isEmpty }
                ?? (value.arrayValue.map { !$0.isEmpty } ?? false)
        }
    }
}
