import Foundation

/// A histogram per label set, with fixed upper bounds; thread-safe.
final class HistogramFamily: @unchecked Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    /// Upper bounds in seconds, ascending; `+Inf` is added when rendering.
    let bounds: [Double]

    private struct Series {
        /// Observations at or below each bound, not cumulative; the last slot is above all.
        var counts: [Int]
        var sum = 0.0
        var count = 0
    }

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var series: [[String]: Series] = [:]

    init(_ name: String, help: String, labels: [String], bounds: [Double]) {
        precondition(bounds == bounds.sorted() && !bounds.isEmpty, "\(name): bounds must ascend")
        self.name = name
        self.help = help
        self.labelNames = labels
        self.bounds = bounds
    }

    func observe(_ labelValues: [String], _ value: Double) {
        precondition(
            labelValues.count == labelNames.count,
            "\(name) takes labels \(labelNames), got \(labelValues.count) values")
        let slot = bounds.firstIndex { value <= $0 } ?? bounds.count
        lock.withLock {
            var entry =
                series[labelValues] ?? Series(counts: Array(repeating: 0, count: bounds.count + 1))
            entry.counts[slot] += 1
            entry.sum += value
            entry.count += 1
            series[labelValues] = entry
        }
    }

    /// Observations so far for one label set.
    func count(_ labelValues: [String]) -> Int {
        lock.withLock { series[labelValues]?.count ?? 0 }
    }

    /// Cumulative `_bucket` samples with `le`, then `_sum` and `_count`, per label set.
    var family: MetricFamily {
        let snapshot = lock.withLock { series }
        var samples: [MetricFamily.Sample] = []
        for key in snapshot.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let entry = snapshot[key]!
            let labels = Array(zip(labelNames, key))
            var cumulative = 0
            for (index, bound) in (bounds + [.infinity]).enumerated() {
                cumulative += entry.counts[index]
                samples.append(
                    MetricFamily.Sample(
                        suffix: "_bucket", labels: labels + [("le", PrometheusText.format(bound))],
                        value: Double(cumulative)))
            }
            samples.append(MetricFamily.Sample(suffix: "_sum", labels: labels, value: entry.sum))
            samples.append(
                MetricFamily.Sample(suffix: "_count", labels: labels, value: Double(entry.count)))
        }
        return MetricFamily(name: name, help: help, kind: .histogram, samples: samples)
    }
}
