/// An HTTP/1.1 request parser that is fed bytes and reports what it found, with no I/O.
///
/// It is a value type so that the connection can own it outright and tests can drive it byte by
/// byte. It is strict on purpose: the relay sits on the public internet and is not a proxy, so
/// anything a lenient parser would have to guess at (bare LF, obs-fold, duplicate or conflicting
/// framing headers) is refused with a 4xx rather than interpreted. That closes the door on
/// request smuggling through a front proxy that guesses differently.
///
/// Feed bytes with `feed(_:)`, then call `next()` until it returns `.needMoreData`. After a
/// `.request` the parser stops at the request boundary; bytes of a pipelined request stay
/// buffered until `next()` is called again. After a `.reject` it stays failed.
struct HTTPRequestParser: Sendable {
    /// Size limits, in bytes.
    struct Limits: Sendable, Equatable {
        /// Request line plus header fields plus the blank line; beyond it: 431 (or 414 when the
        /// request line alone is longer). Also bounds chunked trailers.
        var maxHeaderBytes: Int
        /// Decoded body bytes; beyond it: 413.
        var maxBodyBytes: Int
    }

    /// Why a request was refused: the status to answer with and a short plain-text reason.
    struct Rejection: Error, Sendable, Equatable {
        var status: Int
        var reason: String
    }

    /// A complete request together with what the connection needs to answer it.
    struct ParsedRequest: Sendable, Equatable {
        var request: HTTPRequest
        /// The `x` of `HTTP/1.x`; 0 or 1.
        var minorVersion: Int
        /// Whether the connection may carry another request after this one's response.
        var keepAlive: Bool
    }

    /// What the bytes fed so far amount to.
    enum Event: Sendable, Equatable {
        /// Nothing more can be decided until more bytes arrive.
        case needMoreData
        /// The head asked for `Expect: 100-continue`; send `100 Continue`, then keep feeding.
        case sendContinue
        case request(ParsedRequest)
        /// Answer with this status and close; the parser stays failed.
        case reject(Rejection)
    }

    /// Where the parser is within a request, for the connection's timeouts.
    enum Phase: Sendable, Equatable {
        /// At a request boundary with no bytes of the next request buffered.
        case idle
        case head
        case body
    }

    private enum Stage: Sendable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytesSeen: Int)
        case failed(Rejection)
    }

    private enum Progress {
        case advanced
        case needMoreData
        case event(Event)
    }

    /// Longest chunk-size line accepted, extensions included. Extensions are ignored, so a long
    /// one can only be an attempt to make the server buffer without progress.
    static let maxChunkSizeLineBytes = 4096

    let limits: Limits
    private var buffer: [UInt8] = []
    /// Bytes before this index are consumed.
    private var readIndex = 0
    /// The search for the end of the head resumes here, so byte-by-byte feeding stays linear.
    private var headScanIndex = 0
    private var stage: Stage = .head
    /// The request whose body is being read; kept outside `stage` so that appending to the body
    /// does not copy it (an enum payload cannot be mutated in place).
    private var pending: ParsedRequest?
    private var body: [UInt8] = []
    private var continueOwed = false

    init(limits: Limits) {
        self.limits = limits
    }

    var phase: Phase {
        switch stage {
        case .head, .failed: readIndex < buffer.count ? .head : .idle
        case .fixedBody, .chunkSize, .chunkData, .chunkDataEnd, .trailers: .body
        }
    }

    /// Bytes received but not yet consumed, for example a pipelined request.
    var bufferedByteCount: Int { buffer.count - readIndex }

    mutating func feed<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        buffer.append(contentsOf: bytes)
    }

    mutating func next() -> Event {
        defer { compact() }
        while true {
            let progress: Progress
            switch stage {
            case .failed(let rejection):
                return .reject(rejection)
            case .head:
                progress = parseHead()
            case .fixedBody(let remaining):
                progress = readFixedBody(remaining: remaining)
            case .chunkSize:
                progress = readChunkSize()
            case .chunkData(let remaining):
                progress = readChunkData(remaining: remaining)
            case .chunkDataEnd:
                progress = readChunkDataEnd()
            case .trailers(let bytesSeen):
                progress = readTrailers(bytesSeen: bytesSeen)
            }
            switch progress {
            case .advanced: continue
            case .needMoreData: return .needMoreData
            case .event(let event): return event
            }
        }
    }

    // MARK: - Head

    private mutating func parseHead() -> Progress {
        // Blank lines before a request line are tolerated (RFC 9112 §2.2): some clients send a
        // CRLF after a POST body. They count as consumed, not as part of the next head.
        while bufferedByteCount >= 2, buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf {
            readIndex += 2
        }
        headScanIndex = max(headScanIndex, readIndex)

        guard let headEnd = findHeadEnd() else {
            guard bufferedByteCount > limits.maxHeaderBytes else { return .needMoreData }
            return reject(oversizedHeadRejection(headEnd: buffer.count))
        }
        guard headEnd - readIndex <= limits.maxHeaderBytes else {
            return reject(oversizedHeadRejection(headEnd: headEnd))
        }

        let result = parseHeadFields(from: readIndex, to: headEnd - 4)
        readIndex = headEnd
        headScanIndex = headEnd
        switch result {
        case .failure(let rejection):
            return reject(rejection)
        case .success(let (parsed, framing, expectsContinue)):
            return startBody(parsed, framing: framing, expectsContinue: expectsContinue)
        }
    }

    /// The index just past the blank line that ends the head, if it has arrived.
    private mutating func findHeadEnd() -> Int? {
        var index = max(readIndex, headScanIndex - 3)
        while index + 3 < buffer.count {
            if buffer[index] == .cr, buffer[index + 1] == .lf, buffer[index + 2] == .cr,
                buffer[index + 3] == .lf
            {
                return index + 4
            }
            index += 1
        }
        headScanIndex = buffer.count
        return nil
    }

    /// 414 when even the request line does not end within the limit, since then it is the target
    /// that is too long; 431 otherwise.
    private func oversizedHeadRejection(headEnd: Int) -> Rejection {
        let lineLimit = min(headEnd, readIndex + limits.maxHeaderBytes)
        var index = readIndex
        while index < lineLimit {
            if buffer[index] == .lf { break }
            index += 1
        }
        if index >= lineLimit {
            return Rejection(
                status: 414,
                reason: "request line longer than \(limits.maxHeaderBytes) bytes")
        }
        return Rejection(
            status: 431, reason: "request head longer than \(limits.maxHeaderBytes) bytes")
    }

    private enum Framing {
        case none
        case length(Int)
        case chunked
    }

    private typealias HeadResult = Result<
        (ParsedRequest, Framing, expectsContinue: Bool), Rejection
    >

    /// Parses the request line and header fields in `buffer[start..<end]` (the final CRLF CRLF
    /// excluded) and decides how the body is framed.
    private func parseHeadFields(from start: Int, to end: Int) -> HeadResult {
        // Split into lines; every line break must be CRLF.
        var lines: [Range<Int>] = []
        var lineStart = start
        var index = start
        while index < end {
            switch buffer[index] {
            case .cr:
                guard index + 1 < end, buffer[index + 1] == .lf else {
                    return .failure(badRequest("bare CR in the request head"))
                }
                lines.append(lineStart..<index)
                index += 2
                lineStart = index
            case .lf:
                return .failure(badRequest("bare LF in the request head; lines end with CRLF"))
            default:
                index += 1
            }
        }
        lines.append(lineStart..<end)

        guard let requestLine = lines.first else {
            return .failure(badRequest("empty request head"))
        }
        let line: RequestLine
        switch parseRequestLine(requestLine) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let parsedLine): line = parsedLine
        }

        var headers = HTTPHeaders()
        for range in lines.dropFirst() {
            switch parseHeaderLine(range) {
            case .failure(let rejection): return .failure(rejection)
            case .success(let field): headers.add(name: field.name, value: field.value)
            }
        }

        return decideFraming(line: line, headers: headers)
    }

    private struct RequestLine {
        var method: String
        var target: String
        var minorVersion: Int
    }

    private func parseRequestLine(_ range: Range<Int>) -> Result<RequestLine, Rejection> {
        // method SP request-target SP HTTP-version, single spaces only (RFC 9112 §3).
        guard let firstSpace = buffer[range].firstIndex(of: .space),
            let secondSpace = buffer[(firstSpace + 1)..<range.upperBound].firstIndex(of: .space)
        else {
            return .failure(badRequest("malformed request line; expected METHOD TARGET VERSION"))
        }
        let methodBytes = buffer[range.lowerBound..<firstSpace]
        let targetBytes = buffer[(firstSpace + 1)..<secondSpace]
        let versionBytes = buffer[(secondSpace + 1)..<range.upperBound]

        guard !methodBytes.isEmpty, methodBytes.allSatisfy(\.isTokenCharacter) else {
            return .failure(badRequest("request method is not a token"))
        }
        guard !targetBytes.isEmpty, targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(badRequest("malformed request target"))
        }
        guard versionBytes.allSatisfy({ $0 != .space }) else {
            return .failure(badRequest("malformed request line; expected METHOD TARGET VERSION"))
        }

        let method = String(decoding: methodBytes, as: UTF8.self)
        let target = String(decoding: targetBytes, as: UTF8.self)
        guard target.hasPrefix("/") || (target == "*" && method == "OPTIONS")
            || target.lowercased().hasPrefix("http://")
            || target.lowercased().hasPrefix("https://")
        else {
            return .failure(badRequest("request target must be a path starting with /"))
        }

        let version = Array(versionBytes)
        guard version.count == 8, version[0..<5].elementsEqual("HTTP/".utf8),
            version[5].isDigit, version[6] == UInt8(ascii: "."), version[7].isDigit
        else {
            return .failure(badRequest("malformed HTTP version; expected HTTP/1.1"))
        }
        guard version[5] == UInt8(ascii: "1"), version[7] <= UInt8(ascii: "1") else {
            let text = String(decoding: version, as: UTF8.self)
            return .failure(
                Rejection(status: 505, reason: "\(text) is not supported; use HTTP/1.1"))
        }
        return .success(
            RequestLine(
                method: method, target: target,
                minorVersion: Int(version[7] - UInt8(ascii: "0"))))
    }

    private func parseHeaderLine(
        _ range: Range<Int>
    ) -> Result<(name: String, value: String), Rejection> {
        let line = buffer[range]
        guard let first = line.first else {
            return .failure(badRequest("empty header line"))
        }
        guard first != .space, first != .tab else {
            return .failure(badRequest("obsolete line folding in a header is not accepted"))
        }
        guard let colon = line.firstIndex(of: .colon) else {
            return .failure(badRequest("header line without a colon"))
        }

        let nameBytes = line[range.lowerBound..<colon]
        if let last = nameBytes.last, last == .space || last == .tab {
            return .failure(badRequest("whitespace before the colon in a header line"))
        }
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(\.isTokenCharacter) else {
            return .failure(badRequest("header name is not a token"))
        }

        // Field values may hold visible ASCII, spaces, tabs and obs-text, never other controls.
        var valueBytes = line[(colon + 1)..<range.upperBound]
        while let byte = valueBytes.first, byte == .space || byte == .tab {
            valueBytes = valueBytes.dropFirst()
        }
        while let byte = valueBytes.last, byte == .space || byte == .tab {
            valueBytes = valueBytes.dropLast()
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard valueBytes.allSatisfy(\.isFieldValueCharacter) else {
            return .failure(badRequest("control character in the value of header \(name)"))
        }
        return .success((name: name, value: String(decoding: valueBytes, as: UTF8.self)))
    }

    // MARK: - Framing

    private func decideFraming(line: RequestLine, headers: HTTPHeaders) -> HeadResult {
        // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2); two would let a proxy and the relay
        // disagree about which site is addressed.
        let hosts = headers.values(of: "Host")
        if line.minorVersion == 1 && hosts.isEmpty {
            return .failure(badRequest("missing Host header"))
        }
        if hosts.count > 1 {
            return .failure(badRequest("more than one Host header"))
        }

        let framing: Framing
        switch bodyFraming(headers: headers, minorVersion: line.minorVersion) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let decided): framing = decided
        }

        var expectsContinue = false
        if let expectation = headers["Expect"] {
            guard expectation.lowercased() == "100-continue" else {
                let reason = "unsupported expectation \(quoted(expectation)); only 100-continue"
                return .failure(Rejection(status: 417, reason: reason))
            }
            // An HTTP/1.0 client cannot understand a 100 response (RFC 9110 §10.1.1).
            expectsContinue = line.minorVersion == 1
        }

        let connectionOptions = headers.values(of: "Connection")
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpacesAndTabs().lowercased() }
        let keepAlive =
            line.minorVersion == 1
            ? !connectionOptions.contains("close")
            : connectionOptions.contains("keep-alive") && !connectionOptions.contains("close")

        let (path, query) = HTTPRequestTarget.split(line.target)
        let request = HTTPRequest(
            method: line.method, target: line.target, path: path,
            query: query.map(HTTPRequestTarget.parseQuery) ?? [:], headers: headers)
        let parsed = ParsedRequest(
            request: request, minorVersion: line.minorVersion, keepAlive: keepAlive)
        return .success((parsed, framing, expectsContinue: expectsContinue))
    }

    private func bodyFraming(
        headers: HTTPHeaders, minorVersion: Int
    ) -> Result<Framing, Rejection> {
        let transferEncodings = headers.values(of: "Transfer-Encoding")
        let contentLengths = headers.values(of: "Content-Length")

        // Both framings at once is the classic smuggling vector (RFC 9112 §6.1): refuse it.
        if !transferEncodings.isEmpty && !contentLengths.isEmpty {
            return .failure(badRequest("both Content-Length and Transfer-Encoding"))
        }

        if !transferEncodings.isEmpty {
            guard minorVersion == 1 else {
                return .failure(badRequest("Transfer-Encoding in an HTTP/1.0 request"))
            }
            let codings = transferEncodings
                .flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
                .map { $0.trimmingSpacesAndTabs().lowercased() }
            if codings == ["chunked"] {
                return .success(.chunked)
            }
            guard codings.last == "chunked" else {
                return .failure(badRequest("Transfer-Encoding must end with chunked"))
            }
            let reason = "transfer coding \(quoted(transferEncodings.joined(separator: ", "))) "
                + "is not supported; only chunked"
            return .failure(Rejection(status: 501, reason: reason))
        }

        guard let lengthText = contentLengths.first else { return .success(.none) }
        guard contentLengths.count == 1 else {
            return .failure(badRequest("more than one Content-Length header"))
        }
        guard !lengthText.isEmpty, lengthText.utf8.allSatisfy(\.isDigit) else {
            return .failure(
                badRequest("Content-Length must be a decimal number, got \(quoted(lengthText))"))
        }
        // Decided before a single body byte is read, so an oversized upload costs nothing.
        guard lengthText.utf8.count <= 18, let length = Int(lengthText),
            length <= limits.maxBodyBytes
        else {
            return .failure(tooLarge())
        }
        return .success(length == 0 ? .none : .length(length))
    }

    private mutating func startBody(
        _ parsed: ParsedRequest, framing: Framing, expectsContinue: Bool
    ) -> Progress {
        switch framing {
        case .none:
            return .event(.request(parsed))
        case .length(let length):
            stage = .fixedBody(remaining: length)
            // Capped so that a generous maxBodyBytes cannot turn a lying header into a huge
            // allocation before any body byte has arrived.
            body.reserveCapacity(min(length, 1 << 20))
        case .chunked:
            stage = .chunkSize
        }
        pending = parsed
        body.removeAll(keepingCapacity: true)
        guard expectsContinue else { return .advanced }
        return .event(.sendContinue)
    }

    // MARK: - Body

    private mutating func readFixedBody(remaining: Int) -> Progress {
        let count = min(remaining, bufferedByteCount)
        guard count > 0 else { return .needMoreData }
        body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
        readIndex += count
        guard count == remaining else {
            stage = .fixedBody(remaining: remaining - count)
            return .needMoreData
        }
        return finishBody()
    }

    private mutating func readChunkSize() -> Progress {
        guard let lineEnd = findCRLF(from: readIndex, limit: Self.maxChunkSizeLineBytes) else {
            guard bufferedByteCount <= Self.maxChunkSizeLineBytes else {
                return reject(badRequest("chunk size line too long"))
            }
            return .needMoreData
        }
        let line = buffer[readIndex..<lineEnd]
        readIndex = lineEnd + 2
        // A bare LF or CR hidden in an ignored extension would end the line early for a proxy
        // that accepts bare line breaks, and the two would disagree about where the chunk is.
        guard line.allSatisfy(\.isFieldValueCharacter) else {
            return reject(badRequest("control character in a chunk size line"))
        }

        // chunk-size [ BWS ";" extension ], extensions ignored.
        let digits = line.prefix(while: { $0.hexDigitValue != nil })
        guard !digits.isEmpty else {
            return reject(badRequest("chunk size is not a hexadecimal number"))
        }
        let rest = line[digits.endIndex...].drop(while: { $0 == .space || $0 == .tab })
        guard rest.isEmpty || rest.first == .semicolon else {
            return reject(badRequest("chunk size is not a hexadecimal number"))
        }
        var size = 0
        for digit in digits {
            let (shifted, overflow) = size.multipliedReportingOverflow(by: 16)
            size = shifted + Int(digit.hexDigitValue ?? 0)
            guard !overflow, size <= limits.maxBodyBytes - body.count else {
                return reject(tooLarge())
            }
        }

        stage = size == 0 ? .trailers(bytesSeen: 0) : .chunkData(remaining: size)
        return .advanced
    }

    private mutating func readChunkData(remaining: Int) -> Progress {
        let count = min(remaining, bufferedByteCount)
        guard count > 0 else { return .needMoreData }
        body.append(contentsOf: buffer[readIndex..<(readIndex + count)])
        readIndex += count
        stage = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
        return .advanced
    }

    private mutating func readChunkDataEnd() -> Progress {
        guard bufferedByteCount >= 2 else { return .needMoreData }
        guard buffer[readIndex] == .cr, buffer[readIndex + 1] == .lf else {
            return reject(badRequest("chunk data not followed by CRLF"))
        }
        readIndex += 2
        stage = .chunkSize
        return .advanced
    }

    /// Trailer fields are read and dropped: nothing in the relay needs them, and merging them
    /// into the headers after the fact would let a client change a header the handler trusted.
    private mutating func readTrailers(bytesSeen: Int) -> Progress {
        var seen = bytesSeen
        while true {
            let allowance = limits.maxHeaderBytes - seen
            guard let lineEnd = findCRLF(from: readIndex, limit: allowance) else {
                guard bufferedByteCount <= allowance else {
                    return reject(
                        Rejection(
                            status: 431,
                            reason: "trailers longer than \(limits.maxHeaderBytes) bytes"))
                }
                stage = .trailers(bytesSeen: seen)
                return .needMoreData
            }
            let isBlank = lineEnd == readIndex
            // Dropped, but still checked: see the chunk size line for why a bare CR or LF
            // matters even in bytes the relay ignores.
            guard buffer[readIndex..<lineEnd].allSatisfy(\.isFieldValueCharacter) else {
                return reject(badRequest("control character in a trailer line"))
            }
            seen += lineEnd + 2 - readIndex
            readIndex = lineEnd + 2
            if isBlank { return finishBody() }
        }
    }

    private mutating func finishBody() -> Progress {
        stage = .head
        guard var parsed = pending else {
            preconditionFailure("HTTPRequestParser finished a body with no pending request")
        }
        pending = nil
        parsed.request.body = body
        body = []
        return .event(.request(parsed))
    }

    // MARK: - Helpers

    /// The index of the next CRLF at or after `start`, looking at most `limit` bytes ahead.
    private func findCRLF(from start: Int, limit: Int) -> Int? {
        let end = min(buffer.count - 1, start + max(limit, 0))
        var index = start
        while index < end {
            if buffer[index] == .cr && buffer[index + 1] == .lf { return index }
            index += 1
        }
        return nil
    }

    private mutating func reject(_ rejection: Rejection) -> Progress {
        stage = .failed(rejection)
        pending = nil
        body = []
        return .event(.reject(rejection))
    }

    /// A value from the request for an error message: quoted, and cut short so that a refusal
    /// cannot be used to reflect large amounts of text.
    private func quoted(_ value: String) -> String {
        value.count <= 40 ? "\"\(value)\"" : "\"\(value.prefix(40))...\""
    }

    private func badRequest(_ reason: String) -> Rejection {
        Rejection(status: 400, reason: reason)
    }

    private func tooLarge() -> Rejection {
        Rejection(status: 413, reason: "request body larger than \(limits.maxBodyBytes) bytes")
    }

    /// Drops consumed bytes: all of them when the buffer is drained (the common case), or the
    /// consumed prefix once it is large enough that moving the rest is cheaper than keeping it.
    /// A small allocation is kept for the next request; a large one is freed, so that a
    /// thousand idle keep-alive connections do not each hold the size of their largest read.
    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 16 * 1024)
        } else if readIndex >= 16 * 1024 {
            buffer.removeFirst(readIndex)
        } else {
            return
        }
        headScanIndex = max(0, headScanIndex - readIndex)
        readIndex = 0
    }
}
