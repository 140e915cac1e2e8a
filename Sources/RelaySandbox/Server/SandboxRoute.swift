/// Which stand-in a request path belongs to.
///
/// Paths are matched segment by segment without percent-decoding; empty segments are ignored,
/// so a trailing slash does not matter.
enum SandboxRoute: Equatable, Sendable {
    /// `/{version}/{dataset}/events`; the dataset is checked by the validator, so that a
    /// non-numeric one gets Graph's "object does not exist" answer rather than a 404.
    case events(version: String, dataset: String)
    /// The configured CRM path.
    case crm
    /// `/healthz`.
    case health
    /// `/_sandbox/faults`: read (GET), replace (PUT) or clear (DELETE) the fault plan.
    case faults
    /// A path that starts with a Graph version but is not the events edge: answered with a
    /// Graph-style 404, because whoever sent it is a Graph client that needs Graph's shape.
    case unknownGraphPath
    /// Anything else: a plain-text 404.
    case notFound

    init(path: String, crmPath: String) {
        let segments = path.split(separator: "/").map(String.init)
        let crmSegments = crmPath.split(separator: "/").map(String.init)
        if segments == crmSegments {
            self = .crm
        } else if segments == ["healthz"] {
            self = .health
        } else if segments == ["_sandbox", "faults"] {
            self = .faults
        } else if let first = segments.first, CAPIRequestValidator.isGraphVersion(first) {
            if segments.count == 3, segments[2] == "events" {
                self = .events(version: first, dataset: segments[1])
            } else {
                self = .unknownGraphPath
            }
        } else {
            self = .notFound
        }
    }
}
