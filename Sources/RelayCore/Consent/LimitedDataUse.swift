/// Meta's Limited Data Use flags, exactly as documented: `["LDU"]` with a country (1 = USA,
/// 0 = let Meta geolocate) and a state (1000 = California, 0 = geolocate), or `[]` for
/// explicitly not LDU.
public struct LimitedDataUse: Sendable, Equatable, Codable {
    public var options: [String]
    public var country: Int?
    public var state: Int?

    public static let off = LimitedDataUse(options: [], country: nil, state: nil)
    /// LDU, with Meta working out where the person is.
    public static let geolocated = LimitedDataUse(options: ["LDU"], country: 0, state: 0)
    public static let california = LimitedDataUse(options: ["LDU"], country: 1, state: 1000)

    public init(options: [String], country: Int?, state: Int?) {
        self.options = options
        self.country = country
        self.state = state
    }
}

/// When the relay sets Limited Data Use.
public enum LimitedDataUsePolicy: Sendable, Equatable {
    case never
    /// Every event, with the given flags.
    case always(LimitedDataUse)
    /// Only people in the listed (country, state) regions; with no known region Meta is asked
    /// to geolocate, because the relay cannot rule LDU out.
    case byRegion([Region])

    public struct Region: Sendable, Equatable, Codable {
        /// ISO 3166-1 alpha-2, lowercase.
        public var country: String
        /// Lowercase state code, or nil for the whole country.
        public var state: String?

        public init(country: String, state: String? = nil) {
            self.country = country.lowercased()
            self.state = state?.lowercased()
        }
    }

    /// The flags for a person whose region is known (or nil).
    public func flags(country: String?, state: String?) -> LimitedDataUse? {
        switch self {
        case .never:
            return nil
        case .always(let flags):
            return flags
        case .byRegion(let regions):
            guard let country = country?.lowercased() else { return .geolocated }
            let state = state?.lowercased()
            let listed = regions.contains {
                $0.country == country && ($0.state == nil || $0.state == state)
            }
            guard listed else { return .off }
            return country == "us" && state == "ca" ? .california : .geolocated
        }
    }
}
