/// The Graph errors the sandbox can answer with, in one place so codes are chosen once.
///
/// Codes follow `/work/shared/reference/meta-capi.md` §1.6. Where the reference gives no
/// subcode for a failure, none is sent: inventing a plausible-looking Meta subcode would invite
/// the relay to switch on a number Meta never sends.
extension GraphError {
    /// Code 104: no `access_token` in the query, the JSON body or the form.
    public static let accessTokenRequired = GraphError(
        code: 104,
        message: "An access token is required to request this resource.",
        userTitle: "Access Token Required",
        userMessage: "Send access_token as a query parameter or a body field."
    )

    /// Code 190, subcode 467: the token is not the one the sandbox was configured to expect.
    ///
    /// The reference lists 190's subcodes; 467 ("invalid token") is the one that describes a
    /// token the server does not recognise. 463 means "expired", which the sandbox cannot know,
    /// and a bare 190 would be equally valid Graph but tells a reader less. Either way the
    /// relay must act on code 190 alone (get a new token), never on the subcode.
    public static let invalidAccessToken = GraphError(
        code: 190,
        subcode: 467,
        message: "Invalid OAuth access token: it is not the access token this sandbox expects.",
        userTitle: "Invalid Access Token",
        userMessage: "Send the access token the sandbox was configured to expect."
    )

    /// Code 100: an app secret is configured but no `appsecret_proof` was sent.
    public static let appsecretProofRequired = GraphError(
        code: 100,
        message: "API calls from the server require an appsecret_proof argument",
        userTitle: "Missing appsecret_proof",
        userMessage: "Send appsecret_proof = lowercase hex HMAC-SHA256(app secret, access token)."
    )

    /// Code 100: `appsecret_proof` is not HMAC-SHA256(app secret, access token).
    public static let appsecretProofInvalid = GraphError(
        code: 100,
        message: "Invalid appsecret_proof provided in the API argument",
        userTitle: "Invalid appsecret_proof",
        userMessage: "Compute appsecret_proof as lowercase hex HMAC-SHA256 keyed with the app "
            + "secret over the access token sent with this request."
    )

    /// Code 100: a malformed request or event; `detail` names the event index and field.
    public static func invalidParameter(
        _ detail: String, title: String, fix: String, subcode: Int? = nil
    ) -> GraphError {
        GraphError(
            code: 100, subcode: subcode, message: "Invalid parameter: \(detail)",
            userTitle: title, userMessage: fix
        )
    }

    /// Code 100, subcode 33: the path names an object or edge the sandbox does not serve.
    ///
    /// Graph answers a post to a missing or inaccessible object with 100/33 (reference §1.6),
    /// so the relay's "permanent error" branch is what a wrong dataset ID exercises. Unknown
    /// Graph-shaped paths get the same code but HTTP 404, since nothing at all lives there.
    public static func unsupportedRequest(_ detail: String, httpStatus: Int = 400) -> GraphError {
        GraphError(
            httpStatus: httpStatus, code: 100, subcode: 33,
            message: "Unsupported request: \(detail)",
            userTitle: "Unsupported Request",
            userMessage: "The sandbox serves POST /{version}/{dataset}/events, where version "
                + "looks like v25.0 and dataset is the numeric dataset (pixel) ID."
        )
    }

    /// Code 2 ("API Service", transient): the sandbox itself failed, e.g. its record file.
    ///
    /// A transient code is deliberate: the request was fine, so the relay should retry.
    public static func sandboxFailure(_ detail: String) -> GraphError {
        GraphError(
            httpStatus: 500, code: 2, message: "Service temporarily unavailable: \(detail)",
            userTitle: "Sandbox Failure",
            userMessage: "The sandbox could not complete the request; retry, and check the "
                + "sandbox's record file path and disk space."
        )
    }
}
