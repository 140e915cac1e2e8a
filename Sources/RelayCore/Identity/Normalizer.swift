import Foundation

/// Turns raw customer information into exactly the strings Meta documents, and hashes them.
///
/// Meta matches a person only when our SHA-256 is of the same string its own systems derive, so
/// every ingest path must normalize the same way. The rules follow Meta's customer-information
/// parameter documentation, not the official Python SDK, where the two differ (see the README,
/// "Where we follow Meta's documentation rather than an official SDK"). A value that cannot be
/// used is dropped with a reason and never fails the event it belongs to.
///
/// The normalizer is a plain value with no state besides its configuration; it is safe to share
/// across threads.
public struct Normalizer: Sendable {
    /// How to read an all-numeric date whose first two parts could each be the month.
    public enum DateOrder: Sendable {
        /// `03/04/1997` is March 4, the US reading and the default.
        case monthFirst
        /// `03/04/1997` is 3 April, the reading in most of the rest of the world.
        case dayFirst
    }

    /// The lowercase ISO 3166-1 alpha-2 region whose calling code a national phone number
    /// gets. Meta requires the country code even when all data is from one country.
    public var defaultCountry: String {
        didSet { defaultCallingCode = CallingCodes.code(forRegion: defaultCountry) }
    }
    /// The calling code of ``defaultCountry``, looked up once rather than per number.
    private(set) var defaultCallingCode: Int?
    /// Whether `external_id` is hashed. Meta recommends it; whichever is chosen must be the same
    /// on every path (and on the Pixel), or deduplication and matching break.
    public var hashesExternalID: Bool
    /// How `03/04/1997` and `03-04-1997` are read. A dotted date (`03.04.1997`) is always day
    /// first, the convention everywhere dots are used; a date where only one reading is valid
    /// (`16/02/1997`) is read that way whatever this says.
    public var slashedDateOrder: DateOrder
    /// The day dates of birth are checked against ("not in the future"); nil means today.
    public var today: Date?

    public init(
        defaultCountry: String = "us", hashesExternalID: Bool = true,
        slashedDateOrder: DateOrder = .monthFirst, today: Date? = nil
    ) {
        self.defaultCountry = defaultCountry.lowercased()
        self.defaultCallingCode = CallingCodes.code(forRegion: defaultCountry)
        self.hashesExternalID = hashesExternalID
        self.slashedDateOrder = slashedDateOrder
        self.today = today
    }

    /// Normalizes one value of one field.
    ///
    /// Surrounding whitespace is trimmed first. A value that already is a SHA-256 hex digest (64
    /// hex digits, any case) comes back lowercased as ``NormalizationResult/alreadyHashed(_:)``:
    /// hashing it again would send a hash nobody matches. MD5-shaped values are not treated as
    /// hashes, because Meta accepts only SHA-256.
    public func normalize(_ field: CustomerField, _ raw: String) -> NormalizationResult {
        let fast = withFastNormalized(field, raw) { bytes, alreadyHashed in
            let value = String(decoding: bytes, as: UTF8.self)
            return alreadyHashed ? NormalizationResult.alreadyHashed(value) : .value(value)
        }
        switch fast {
        case .success(let result): return result
        case .failure(let reason): return .dropped(reason: reason)
        case nil: return normalizeWithStrings(field, raw)
        }
    }

    /// The reference implementation of ``normalize(_:_:)``, on Strings and Unicode scalars.
    ///
    /// It decides every value the byte path (``withFastNormalized(_:_:_:)``) leaves alone, and
    /// the tests hold the byte path to it.
    func normalizeWithStrings(_ field: CustomerField, _ raw: String) -> NormalizationResult {
        let trimmed = Self.trimmed(raw)
        guard !trimmed.isEmpty else { return .dropped(reason: .empty(field)) }
        if Crypto.looksLikeSHA256(trimmed) { return .alreadyHashed(trimmed.lowercased()) }

        let result: Result<String, DropReason>
        switch field {
        case .email: result = Self.normalizeEmail(trimmed)
        case .phone: result = normalizePhone(trimmed)
        case .firstName, .lastName: result = .success(Self.normalizeName(trimmed))
        case .city: result = .success(Self.normalizeCity(trimmed))
        case .state: result = .success(Self.normalizeState(trimmed))
        case .zip: result = .success(Self.normalizeZip(trimmed))
        case .country: result = Self.normalizeCountry(trimmed)
        case .gender: result = Self.normalizeGender(trimmed)
        case .dateOfBirth: result = normalizeDateOfBirth(trimmed)
        // Meta gives no rule for external_id; trimming is the only change that cannot turn one
        // customer's id into another's (ids may be case-sensitive).
        case .externalID: result = .success(trimmed)
        }

        // A value that cleans down to nothing is dropped: the hash of "" matches nobody.
        switch result {
        case .success(let value) where value.isEmpty: return .dropped(reason: .empty(field))
        case .success(let value): return .value(value)
        case .failure(let reason): return .dropped(reason: reason)
        }
    }

    /// Normalizes and hashes one value: 64 lowercase hex digits, or why it was dropped.
    ///
    /// Always hashes, `external_id` included; ``wireValue(_:_:)`` is what honours
    /// ``hashesExternalID``.
    public func hash(_ field: CustomerField, _ raw: String) -> Result<String, DropReason> {
        // The common case hashes straight from the byte path's buffer, with no String between.
        let fast = withFastNormalized(field, raw) { bytes, alreadyHashed in
            if alreadyHashed { return String(decoding: bytes, as: UTF8.self) }
            return ShortValueHashes.hash(of: bytes) ?? Crypto.sha256Hex(bytes)
        }
        if let fast { return fast }

        switch normalizeWithStrings(field, raw) {
        case .value(let value): return .success(Crypto.sha256Hex(value))
        case .alreadyHashed(let hash): return .success(hash)
        case .dropped(let reason): return .failure(reason)
        }
    }

    /// The string to put in `user_data` for this field: the hash, or for `external_id` with
    /// hashing turned off, the normalized id itself.
    public func wireValue(_ field: CustomerField, _ raw: String) -> Result<String, DropReason> {
        if field == .externalID && !hashesExternalID {
            switch normalize(field, raw) {
            case .value(let value), .alreadyHashed(let value): return .success(value)
            case .dropped(let reason): return .failure(reason)
            }
        }
        return hash(field, raw)
    }

    /// Normalizes and hashes a value under a raw `user_data` key.
    ///
    /// Keys Meta says never to hash are refused with ``DropReason/Code/neverHashed``, so a
    /// caller walking an arbitrary object cannot hash an IP address or a click id by mistake.
    /// Keys that are neither are refused the same way: the relay does not guess at hashing.
    public func hash(key: String, _ raw: String) -> Result<String, DropReason> {
        guard let field = CustomerField(key: key) else {
            let why =
                CustomerField.isNeverHashed(key)
                ? "Meta reads \(key) unhashed; send it as it is"
                : "\(key) is not a customer-information key the relay hashes"
            return .failure(DropReason(.neverHashed, why))
        }
        return hash(field, raw)
    }

    /// The value without surrounding whitespace, without Foundation's character-set machinery,
    /// which dominated the cost of short values.
    static func trimmed(_ raw: String) -> String {
        let scalars = raw.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
