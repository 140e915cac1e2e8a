/// A command line a benchmark cannot run with, found before any benchmark starts.
struct BenchmarkUsageError: Error {
    enum Code {
        case unknownOption
        case missingValue
        /// A count or rate that is not a number, or out of the range the benchmark can use.
        case badValue
    }

    var code: Code
    /// One line, without its newline, that starts with the benchmark and quotes what was given.
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// 64 (`EX_USAGE`).
    var exitStatus: Int32 { 64 }
}
