import RelayCore

/// Random `fbtrace_id` values, shaped like Graph's: 11 characters of a URL-safe alphabet.
///
/// Graph gives every response one so that a support request can point at it; the sandbox does
/// the same so that a line in the relay's log can be matched with a line of the record file.
enum FBTraceID {
    private static let alphabet = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

    static func random() -> String {
        String(Crypto.randomBytes(11).map { alphabet[Int($0) & 63] })
    }
}
