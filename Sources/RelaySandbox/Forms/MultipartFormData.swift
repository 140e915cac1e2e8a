/// Decoding of `multipart/form-data` bodies, which is what `curl -F data=[…]` sends.
///
/// Meta's own curl examples post the batch that way, so a user copying them against the sandbox
/// must get the same answer Graph would give. Only what a form of text fields needs is handled:
/// each part's `name` and its bytes as UTF-8; part headers other than Content-Disposition, and
/// file names, are ignored.
public enum MultipartFormData {
    /// The fields in order, or nil when the body is not multipart with this boundary.
    public static func decode(_ body: [UInt8], boundary: String) -> [(name: String, value: String)]?
    {
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        guard !boundary.isEmpty, let first = find(delimiter, in: body, from: 0) else { return nil }

        // Each part runs from the end of one delimiter line to the CRLF before the next delimiter.
        var fields: [(name: String, value: String)] = []
        var cursor = first + delimiter.count
        while true {
            if body[cursor...].starts(with: [UInt8(ascii: "-"), UInt8(ascii: "-")]) {
                return fields
            }
            guard body[cursor...].starts(with: crlf) else { return nil }
            let partStart = cursor + 2
            guard let next = find(crlf + delimiter, in: body, from: partStart) else { return nil }
            guard let field = decodePart(body[partStart..<next]) else { return nil }
            fields.append(field)
            cursor = next + 2 + delimiter.count
        }
    }

    /// The boundary parameter of a `multipart/form-data` content type, unquoted.
    public static func boundary(fromContentType contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map {
                $0.trimmed(of: " \t")
            }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = Substring(pair[1])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = value.dropFirst().dropLast()
            }
            return String(value)
        }
        return nil
    }

    private static func decodePart(_ part: ArraySlice<UInt8>) -> (name: String, value: String)? {
        guard let headerEnd = find([13, 10, 13, 10], in: Array(part), from: 0) else { return nil }
        let headerBytes = part.prefix(headerEnd)
        let value = part.dropFirst(headerEnd + 4)
        let headers = String(decoding: headerBytes, as: UTF8.self)
        for line in headers.split(separator: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2,
                pieces[0].trimmed(of: " \t").lowercased() == "content-disposition"
            else { continue }
            guard let name = dispositionName(String(pieces[1])) else { return nil }
            return (name: name, value: String(decoding: value, as: UTF8.self))
        }
        return nil
    }

    /// The `name="…"` parameter of a Content-Disposition value.
    private static func dispositionName(_ disposition: String) -> String? {
        for parameter in disposition.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map {
                $0.trimmed(of: " \t")
            }
            guard pair.count == 2, pair[0].lowercased() == "name" else { continue }
            var value = Substring(pair[1])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = value.dropFirst().dropLast()
            }
            return String(value)
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count,
            start <= haystack.count - needle.count
        else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0],
                haystack[index..<index + needle.count].elementsEqual(needle)
            {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters from `set`; Foundation-free so that
    /// the form decoders stay pure Swift.
    func trimmed(of set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars
        while let first = view.first, scalars.contains(first) { view.removeFirst() }
        while let last = view.last, scalars.contains(last) { view.removeLast() }
        return String(view)
    }
}
