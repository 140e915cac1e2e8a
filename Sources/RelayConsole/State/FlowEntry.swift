/// One line of the live flow: a record, or a note that records were lost on the way.
public struct FlowEntry: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case record(ReceivedRecord)
        /// The relay dropped this many records for this console because it fell behind.
        case missed(Int64)
    }

    /// Unique within one console run, so that the selection survives new lines and trimming.
    public var id: Int
    public var content: Content

    public var record: ReceivedRecord? {
        if case .record(let record) = content { record } else { nil }
    }
}

/// Which records the flow shows.
public enum FlowFilter: String, Sendable, CaseIterable {
    case all, failed, dedupe, consent

    func admits(_ entry: FlowEntry) -> Bool {
        guard let record = entry.record else { return self == .all }
        switch self {
        case .all: return true
        case .failed: return record.isFailure
        case .dedupe: return record.stage == .dedupeHit
        case .consent: return record.stage == .consentDropped
        }
    }
}
