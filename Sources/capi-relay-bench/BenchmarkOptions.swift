/// One benchmark's options as given on its command line, each read as the value it must be.
///
/// Every value is checked before the benchmark starts, and anything it cannot use is refused
/// with a message that names the option and quotes the value. Read unchecked, a negative count
/// crashed a benchmark, a word ran it on the default unnoticed, and a zero printed figures of
/// nothing (`nan ms`).
struct BenchmarkOptions {
    /// The benchmark's name, which every message starts with.
    let benchmark: String
    /// Each option given, with its value.
    private let values: [String: String]

    /// Pairs the options with their values.
    ///
    /// - Parameters:
    ///   - arguments: the command line after the benchmark's name: options, each with a value.
    ///   - known: the options this benchmark takes.
    /// - Throws: for an option the benchmark does not take, one without a value, or one given
    ///   twice: only one of the two would count, and, as with a misspelt option, the other would
    ///   be ignored unnoticed.
    init(benchmark: String, arguments: [String], known: Set<String>) throws(BenchmarkUsageError) {
        self.benchmark = benchmark
        var values: [String: String] = [:]
        for index in stride(from: 0, to: arguments.count, by: 2) {
            let option = arguments[index]
            guard known.contains(option) else {
                throw BenchmarkUsageError(
                    .unknownOption,
                    "\(benchmark): unknown option '\(option)'; options: "
                        + known.sorted().joined(separator: " "))
            }
            guard index + 1 < arguments.count else {
                throw BenchmarkUsageError(.missingValue, "\(benchmark): \(option) needs a value")
            }
            guard values[option] == nil else {
                throw BenchmarkUsageError(
                    .repeatedOption, "\(benchmark): \(option) is given twice; give it once")
            }
            values[option] = arguments[index + 1]
        }
        self.values = values
    }

    /// The value given for `option`, unchecked; nil when it is not given.
    func text(_ option: String) -> String? { values[option] }

    /// A whole number of at least 1 for `option`: a count of events, rounds or threads.
    ///
    /// - Parameters:
    ///   - defaultValue: the count when `option` is not given.
    ///   - limit: the most the benchmark can use; nil when only time and memory bound it.
    func count(_ option: String, default defaultValue: Int, atMost limit: Int? = nil)
        throws(BenchmarkUsageError) -> Int
    {
        guard let text = values[option] else { return defaultValue }
        guard let value = Int(text), value >= 1, value <= limit ?? Int.max else {
            let range = limit.map { "from 1 to \($0)" } ?? "of at least 1"
            throw BenchmarkUsageError(
                .badValue, "\(benchmark): \(option) expects a whole number \(range), got '\(text)'")
        }
        return value
    }

    /// A rate in requests per second for `option`, fractions allowed, within `range`.
    func rate(_ option: String, default defaultValue: Double, in range: ClosedRange<Double>)
        throws(BenchmarkUsageError) -> Double
    {
        guard let text = values[option] else { return defaultValue }
        // `Double` also reads "nan" and "inf"; the range refuses both.
        guard let value = Double(text), range.contains(value) else {
            throw BenchmarkUsageError(
                .badValue,
                "\(benchmark): \(option) expects requests per second, a number from "
                    + "\(Self.plain(range.lowerBound)) to \(Self.plain(range.upperBound)), "
                    + "got '\(text)'")
        }
        return value
    }

    /// `value` as a person writes it: 1000000 rather than 1000000.0 or 1e+06.
    private static func plain(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
