/// Keeps metric label values to a bounded set, whatever arrives.
///
/// A label value becomes a time series in Prometheus forever, so a label fed from input (an
/// event name a server-event sender picked, a dataset in a CAPI-compatible path) could grow
/// without end. Names the config knows are kept; anything else is `other`. Event ids, user ids
/// and page ids never become labels at all.
struct MetricLabels: Sendable, Equatable {
    /// What an unknown value is folded into.
    static let other = "other"
    /// More distinct names than this in a config are folded too: a config is not input, but a
    /// generated one with thousands of rules must not cost thousands of series per metric.
    static let maxEventNames = 100

    let eventNames: Set<String>
    let datasets: Set<String>

    init(eventNames: Set<String>, datasets: Set<String>) {
        self.eventNames = Set(eventNames.sorted().prefix(Self.maxEventNames))
        self.datasets = datasets
    }

    /// The names the config makes (rules, CRM stages), those it lets senders use
    /// (`qa.event_names`), Meta's standard events; and every dataset it names.
    init(_ configuration: RelayConfiguration) {
        var names = QAChecklist.standardEventNames
        names.formUnion(configuration.rules.map(\.event))
        names.formUnion(configuration.crmEcho?.stages.map(\.event) ?? [])
        names.formUnion(configuration.qa.eventNames)
        var datasets = Set(configuration.pages.map(\.dataset))
        if let dataset = configuration.serverEvents?.dataset { datasets.insert(dataset) }
        if let dataset = configuration.crmEcho?.dataset { datasets.insert(dataset) }
        self.init(eventNames: names, datasets: datasets)
    }

    func eventName(_ name: String?) -> String {
        guard let name, eventNames.contains(name) else { return Self.other }
        return name
    }

    func dataset(_ dataset: String?) -> String {
        guard let dataset, datasets.contains(dataset) else { return Self.other }
        return dataset
    }
}
