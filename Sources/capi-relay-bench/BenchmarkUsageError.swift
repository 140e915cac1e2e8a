/// A command line a benchmark cannot run with, found before any benchmark starts.
struct BenchmarkUsageError: Error {
    enum Code {
        case unknownOption
        case missingValue
        case repeatedOption
        /// A count or rate that is not a number, or out of the range the benchmark can use.
        case badValue
        /// A program the benchmark runs (the relay, Python, nginx) is not there or cannot run.
        case missingProgram
    }

    var code: Code
    /// One line, without its newline, that starts with the benchmark and quotes what was given.
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// 66 (`EX_NOINPUT`) for a missing program, as a `capi-relay` not yet built always got; 64
    /// (`EX_USAGE`) for everything else.
    var exitStatus: Int32 { code == .missingProgram ? 66 : 64 }
}
