/// Everything the CAPI validator looks at, taken from one `POST /{version}/{dataset}/events`.
///
/// A plain value with no HTTP types in it, so the validator can be tested without a server.
public struct CAPIRequest: Sendable {
    /// The dataset (pixel) ID from the path; Graph object IDs are digits.
    public var dataset: String
    /// The API version from the path, e.g. `v25.0`.
    public var apiVersion: String
    /// Query parameters, already percent-decoded.
    public var query: [String: String]
    /// The `Content-Type` header, parameters included; nil when absent.
    public var contentType: String?
    /// The body as received.
    public var body: [UInt8]
    /// The server's clock, in Unix seconds; `event_time` is judged against it.
    public var now: Int64

    public init(
        dataset: String, apiVersion: String = "v25.0", query: [String: String] = [:],
        contentType: String? = "application/json", body: [UInt8], now: Int64
    ) {
        self.dataset = dataset
        self.apiVersion = apiVersion
        self.query = query
        self.contentType = contentType
        self.body = body
        self.now = now
    }
}
