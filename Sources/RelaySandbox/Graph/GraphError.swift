import RelayCore
/// An error as the Graph API reports it, before it is given an `fbtrace_id` and written out.
///
/// The sandbox answers exactly in Graph's shape so that the relay's error classification
/// (retry on transient codes, dead-letter on permanent ones) is exercised against the same
/// bodies it will meet in production. Optional fields are omitted from the body when nil, as
/// Graph does.
public struct GraphError: Error, Sendable, Equatable {
    /// The HTTP status of the response carrying this error.
    public var httpStatus: Int
    /// Graph's `code`, e.g. 100 (invalid parameter), 104 (token required), 190 (bad token).
    public var code: Int
    /// Graph's `error_subcode`, e.g. 2804003 (event too old); nil when Graph sends none.
    public var subcode: Int?
    /// Graph's `type`; CAPI validation errors arrive as `OAuthException`.
    public var type: String
    /// Graph's `message`: for event errors it names the event index and the field.
    public var message: String
    /// `error_user_title`: a short heading such as "Event Timestamp Too Old".
    public var userTitle: String?
    /// `error_user_msg`: what to change so that the request is accepted.
    public var userMessage: String?

    public init(
        httpStatus: Int = 400, code: Int, subcode: Int? = nil, type: String = "OAuthException",
        message: String, userTitle: String? = nil, userMessage: String? = nil
    ) {
        self.httpStatus = httpStatus
        self.code = code
        self.subcode = subcode
        self.type = type
        self.message = message
        self.userTitle = userTitle
        self.userMessage = userMessage
    }

    /// The inner `error` object, without `fbtrace_id`; this is what the record file keeps.
    public var object: JSONValue {
        var members: [String: JSONValue] = [
            "message": .string(message),
            "type": .string(type),
            "code": .integer(Int64(code)),
        ]
        if let subcode { members["error_subcode"] = .integer(Int64(subcode)) }
        if let userTitle { members["error_user_title"] = .string(userTitle) }
        if let userMessage { members["error_user_msg"] = .string(userMessage) }
        return .object(members)
    }
}
