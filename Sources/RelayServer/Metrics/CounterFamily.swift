import Foundation

/// A counter per label set, since the process started; thread-safe.
///
/// Counters are process-local, as Prometheus expects: a restart starts them from zero and
/// `rate()` and `increase()` handle the reset. Totals since the journal began are the feed's and
/// `qa`'s business, not the scrape's.
final class CounterFamily: @unchecked Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    private let lock = NSLock()
    /// Guarded by `lock`: label values in `labelNames` order → count.
    private var values: [[String]: Double] = [:]

    init(_ name: String, help: String, labels: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labels
    }

    /// Adds `amount` to the counter of these label values, one per label name.
    func increment(_ labelValues: [String], by amount: Double = 1) {
        precondition(
            labelValues.count == labelNames.count,
            "\(name) takes labels \(labelNames), got \(labelValues.count) values")
        guard amount > 0 else { return }
        lock.withLock { values[labelValues, default: 0] += amount }
    }

    /// The count for one label set; zero when it never happened.
    func value(_ labelValues: [String]) -> Double {
        lock.withLock { values[labelValues] ?? 0 }
    }

    /// Samples sorted by label values, so that a scrape reads the same way each time.
    var family: MetricFamily {
        let snapshot = lock.withLock { values }
        let samples = snapshot.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { key in
            MetricFamily.Sample(labels: Array(zip(labelNames, key)), value: snapshot[key]!)
        }
        return MetricFamily(name: name, help: help, kind: .counter, samples: samples)
    }
}
