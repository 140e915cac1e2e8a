/// Where the sandbox listens, what it records, and which credentials it insists on.
public struct SandboxConfiguration: Sendable {
    /// The address to listen on; loopback by default, since the sandbox accepts any token.
    public var host: String = "127.0.0.1"
    /// The TCP port; 0 lets the kernel choose, see `Sandbox.port`.
    public var port: UInt16 = 0
    /// A JSON-lines file to append one record per request to; nil records in memory only.
    public var recordPath: String?
    /// When set, requests must carry exactly this access token (else Graph code 190); when nil,
    /// any non-empty token is accepted.
    public var expectedAccessToken: String?
    /// When set, `appsecret_proof` is required and checked against this app secret.
    public var appSecret: String?
    /// When set, CRM posts must carry a valid `X-Capi-Relay-Signature-256` (else 403).
    public var crmSecret: String?
    /// The path of the CRM stand-in.
    public var crmPath: String = "/crm"
    /// The largest request body accepted, in bytes; larger ones get the server's 413.
    ///
    /// 16 MiB: a 1,000-event batch of website events carrying six hashed emails each is
    /// already about 0.9 MB, so the HTTP server's 1 MiB default would refuse legal batches
    /// with a 413 before the validator could say anything.
    public var maxBodyBytes: Int = 16 << 20
    /// Failures to inject; none by default, so the sandbox answers as Meta would.
    public var faults = SandboxFaults()

    public init(
        host: String = "127.0.0.1", port: UInt16 = 0, recordPath: String? = nil,
        expectedAccessToken: String? = nil, appSecret: String? = nil, crmSecret: String? = nil,
        crmPath: String = "/crm"
    ) {
        self.host = host
        self.port = port
        self.recordPath = recordPath
        self.expectedAccessToken = expectedAccessToken
        self.appSecret = appSecret
        self.crmSecret = crmSecret
        self.crmPath = crmPath
    }
}
