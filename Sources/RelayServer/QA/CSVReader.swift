/// Why a CSV text could not be read.
public struct CSVError: Error, Equatable, CustomStringConvertible {
    /// The 1-based line where the problem starts.
    public var line: Int
    public var message: String

    public var description: String { "line \(line): \(message)" }
}

/// A small RFC 4180 reader: records separated by CRLF (or a bare LF, as spreadsheets on Unix
/// write), fields by commas, a field in double quotes may hold commas, line breaks and `""`
/// for a quote. A UTF-8 byte-order mark at the start is skipped.
///
/// It works on bytes, not Characters: Swift reads `\r\n` as one Character, which would hide the
/// record separator inside a quoted field's text.
public enum CSVReader {
    /// Every record, each a list of fields; a final empty line is not a record.
    public static func parse(_ text: String) throws(CSVError) -> [[String]] {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var line = 1
        var index = 0
        var quoted = false
        var fieldStartLine = 1
        // Whether the current field began with a quote and that quote has closed.
        var afterClosingQuote = false

        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            afterClosingQuote = false
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                        afterClosingQuote = true
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                endField()
            case 0x0D where index < bytes.count && bytes[index] == 0x0A:
                break  // the LF that follows ends the record
            case 0x0A:
                endField()
                records.append(record)
                record.removeAll()
                line += 1
            case UInt8(ascii: "\""):
                guard field.isEmpty && !afterClosingQuote else {
                    throw CSVError(
                        line: line,
                        message: "a double quote inside an unquoted field; quote the whole field"
                            + " and write the quote twice")
                }
                quoted = true
                fieldStartLine = line
            default:
                guard !afterClosingQuote else {
                    throw CSVError(
                        line: line, message: "text after a field's closing quote; expected a comma")
                }
                field.append(byte)
            }
        }
        if quoted {
            throw CSVError(
                line: fieldStartLine, message: "a quoted field is never closed by a double quote")
        }
        if !field.isEmpty || !record.isEmpty || afterClosingQuote {
            endField()
            records.append(record)
        }
        return records
    }
}
