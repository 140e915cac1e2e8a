/// Splits a request-target into the path and query that handlers route on.
///
/// Only the query is percent-decoded: the path stays as sent so that routing compares exactly
/// what the client wrote, and `%2F` inside a segment cannot turn into a path separator.
enum HTTPRequestTarget {
    /// The path and the raw query string (without `?`), or nil when there is no `?`.
    ///
    /// Absolute-form targets (`http://host/path?q`, RFC 9112 §3.2.2) are reduced to their path so
    /// that handlers see the same `path` whether or not a proxy rewrote the request.
    static func split(_ target: String) -> (path: String, query: Substring?) {
        let withoutAuthority = pathAndQuery(of: target)
        guard let mark = withoutAuthority.firstIndex(of: "?") else {
            return (String(withoutAuthority), nil)
        }
        let path = withoutAuthority[..<mark]
        let query = withoutAuthority[withoutAuthority.index(after: mark)...]
        return (path.isEmpty ? "/" : String(path), query)
    }

    /// Parses `name=value&name=value`, percent-decoding both sides and reading `+` as a space.
    ///
    /// The first occurrence of a name wins, so a parameter appended later (for example by a
    /// careless redirect) cannot override the original one. Empty segments (`a=1&&b=2`) are
    /// skipped; a segment without `=` is a name with an empty value.
    static func parseQuery(_ query: Substring) -> [String: String] {
        var parameters: [String: String] = [:]
        for segment in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = segment.firstIndex(of: "=") {
                name = segment[..<equals]
                value = segment[segment.index(after: equals)...]
            } else {
                name = segment
                value = ""
            }
            let decodedName = percentDecode(name, plusAsSpace: true)
            if parameters[decodedName] == nil {
                parameters[decodedName] = percentDecode(value, plusAsSpace: true)
            }
        }
        return parameters
    }

    /// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept literally rather than
    /// rejected, because a stray `%` in a tracking parameter should not cost the whole request.
    /// Bytes that do not form UTF-8 are replaced with U+FFFD.
    static func percentDecode(_ text: Substring, plusAsSpace: Bool) -> String {
        let input = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)

        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "%"), index + 2 < input.count,
                let high = input[index + 1].hexDigitValue, let low = input[index + 2].hexDigitValue
            {
                output.append(high << 4 | low)
                index += 3
                continue
            }
            output.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func pathAndQuery(of target: String) -> Substring {
        let lowered = target.prefix(8).lowercased()
        let schemeLength: Int
        if lowered.hasPrefix("http://") {
            schemeLength = 7
        } else if lowered.hasPrefix("https://") {
            schemeLength = 8
        } else {
            return Substring(target)
        }

        // The authority ends at the first "/" or "?"; whatever follows is the origin-form part.
        let afterScheme = target.dropFirst(schemeLength)
        guard let end = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else {
            return "/"
        }
        return afterScheme[end...]
    }
}
