/// A customer value left out of a conversion because it could not be used.
///
/// It names the field and a reason code, never the value: the value is personal data, and this
/// travels to the journal, the feed and the console.
public struct InvalidValue: Sendable, Equatable, Codable {
    /// The `user_data` key, e.g. `em` or `client_ip_address`.
    public var field: String
    /// A stable code such as `invalid_email` (see `DropReason.Code`) or `invalid_fbc`.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
}
