import RelayCore
import RelayJournal

/// One record of a CRM export, as `reconcile` reads it.
public struct CRMExportRecord: Sendable, Equatable {
    /// The 1-based line the record starts on, for messages.
    public var line: Int
    public var recordID: String
    /// Empty when the CRM record has none.
    public var eventID: String
    /// Epoch milliseconds; nil when the export has no such column or the cell is empty.
    public var createdAtMillis: Int64?
}

/// Why a CRM export cannot be compared.
public struct CRMExportError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension CRMExportRecord {
    /// The records of a CRM export, by the configured column names (compared without regard
    /// to case and surrounding spaces). The created-time column may be absent.
    public static func read(
        csv text: String, columns: RelayConfiguration.CRMColumns, file: String
    ) throws(CRMExportError) -> [CRMExportRecord] {
        let rows: [[String]]
        do {
            rows = try CSVReader.parse(text)
        } catch {
            throw CRMExportError(message: "\(file): \(error)")
        }
        guard let header = rows.first else {
            throw CRMExportError(message: "\(file): empty; expected a header row")
        }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ name: String) -> Int? { names.firstIndex(of: name.lowercased()) }
        guard let eventColumn = column(columns.eventID), let recordColumn = column(columns.recordID)
        else {
            let missing = [columns.eventID, columns.recordID].filter { column($0) == nil }
            throw CRMExportError(
                message: "\(file): no column \(missing.map { "'\($0)'" }.joined(separator: " or "))"
                    + " in the header (\(header.joined(separator: ", "))); set"
                    + " qa.crm_columns in the config or use --event-id-column/--record-id-column")
        }
        let createdColumn = column(columns.createdAt)

        // Lines: a quoted field may span lines, so count the breaks each row held.
        var records: [CRMExportRecord] = []
        var line = 1 + header.reduce(0) { $0 + $1.count { $0 == "\n" } }
        for row in rows.dropFirst() {
            line += 1
            defer { line += row.reduce(0) { $0 + $1.count { $0 == "\n" } } }
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            func cell(_ index: Int) -> String {
                index < row.count ? row[index].trimmingCharacters(in: .whitespaces) : ""
            }
            let created = createdColumn.map(cell).flatMap { text in
                text.isEmpty ? nil : QATime.parse(text, nowMillis: 0)
            }
            records.append(
                CRMExportRecord(
                    line: line, recordID: cell(recordColumn), eventID: cell(eventColumn),
                    createdAtMillis: created))
        }
        return records
    }
}

/// What `reconcile` found comparing a CRM export with the journal.
public struct ReconcileReport: Sendable, Equatable {
    /// A CRM record or a conversion that did not match, with what is known about it.
    public struct Item: Sendable, Equatable {
        public var eventID: String
        /// Empty for a conversion the CRM lacks.
        public var recordIDs: [String]
        /// The journal's CAPI state for an id it knows but never sent; nil otherwise.
        public var journalState: String?
        public var line: Int?
    }

    /// Why a sent conversion is left out of "sent, not in the CRM".
    public enum Exclusion: String, Sendable, CaseIterable {
        /// Made by the CRM itself (a `crm_echo.stages` lifecycle change): the relay never
        /// posts a CRM-originated conversion back to the CRM.
        case crmEcho = "crm_echo"
        /// A Meta Test Events conversion (it carried a `test_event_code`): test traffic never
        /// becomes a CRM record.
        case testEvent = "test_event"
        /// Journaled with `crm_state` disabled: no CRM was configured then, so none was posted.
        case crmDisabled = "crm_disabled"

        /// Why, for a person.
        public var explanation: String {
            switch self {
            case .crmEcho: "made by the CRM (crm_echo.stages), never posted back to it"
            case .testEvent: "test events (test_event_code), never posted to the CRM"
            case .crmDisabled: "journaled with crm_state disabled, never posted to a CRM"
            }
        }
    }

    public var crmRecords: Int
    /// Conversions sent to Meta (or journaled in shadow mode) in the period.
    public var sentConversions: Int
    /// Sent conversions never meant for the CRM, which its export cannot be expected to hold,
    /// by reason. Counted in `sentConversions`, never in `journalOnly`.
    public var excluded: [Exclusion: Int] = [:]
    public var excludedCount: Int { excluded.values.reduce(0, +) }
    /// Distinct event_ids in both.
    public var matched: Int
    /// In the CRM but never sent.
    public var crmOnly: [Item]
    /// Sent, meant for the CRM, but not in it.
    public var journalOnly: [Item]
    /// One event_id on several CRM records: the CRM counts that conversion more than once.
    public var duplicated: [Item]
    /// CRM records without an event_id, which nothing can match.
    public var missingEventID: [Item]

    public var mismatches: Int {
        crmOnly.count + journalOnly.count + duplicated.count + missingEventID.count
    }
}

/// Compares a CRM export with the journal's conversions, by event_id.
public enum Reconciler {
    /// The CAPI states that count as sent: delivered, or journaled in shadow mode (which is
    /// what would have been delivered).
    static let sentStates: Set<String> = ["sent", "shadow"]

    /// - Parameter sinceMillis: leave out conversions journaled, and records created, before it.
    public static func reconcile(
        crm records: [CRMExportRecord], conversions: [StoredConversion], sinceMillis: Int64?
    ) -> ReconcileReport {
        let inPeriod = records.filter { record in
            guard let sinceMillis, let created = record.createdAtMillis else { return true }
            return created >= sinceMillis
        }
        var stateByEventID: [String: String] = [:]
        var sent: [String] = []
        var sentSet: Set<String> = []
        var exclusionByEventID: [String: ReconcileReport.Exclusion] = [:]
        for conversion in conversions {
            stateByEventID[conversion.eventID] = conversion.capiState
            if sentStates.contains(conversion.capiState),
                sentSet.insert(conversion.eventID).inserted
            {
                sent.append(conversion.eventID)
                exclusionByEventID[conversion.eventID] = exclusion(conversion)
            }
        }

        // Group the CRM's records by event_id, in file order.
        var order: [String] = []
        var byEventID: [String: [CRMExportRecord]] = [:]
        var missing: [ReconcileReport.Item] = []
        for record in inPeriod {
            guard !record.eventID.isEmpty else {
                missing.append(
                    .init(
                        eventID: "", recordIDs: [record.recordID], journalState: nil,
                        line: record.line))
                continue
            }
            if byEventID[record.eventID] == nil { order.append(record.eventID) }
            byEventID[record.eventID, default: []].append(record)
        }

        var report = ReconcileReport(
            crmRecords: inPeriod.count, sentConversions: sent.count, matched: 0, crmOnly: [],
            journalOnly: [], duplicated: [], missingEventID: missing)
        for eventID in order {
            let group = byEventID[eventID] ?? []
            let item = ReconcileReport.Item(
                eventID: eventID, recordIDs: group.map(\.recordID),
                journalState: sentSet.contains(eventID) ? nil : stateByEventID[eventID],
                line: group.first?.line)
            if group.count > 1 { report.duplicated.append(item) }
            if sentSet.contains(eventID) {
                report.matched += 1
            } else {
                report.crmOnly.append(item)
            }
        }
        // A conversion the relay never posts to the CRM is no mismatch when the CRM lacks it;
        // a CRM record naming one still matches above, as the CRM may learn of it otherwise.
        for eventID in sent {
            if let reason = exclusionByEventID[eventID] {
                report.excluded[reason, default: 0] += 1
            } else if byEventID[eventID] == nil {
                report.journalOnly.append(
                    .init(eventID: eventID, recordIDs: [], journalState: nil, line: nil))
            }
        }
        return report
    }

    /// Why the relay never posted a conversion to the CRM; nil when it was meant to.
    static func exclusion(_ stored: StoredConversion) -> ReconcileReport.Exclusion? {
        if stored.conversion?.source == "crm_echo" { return .crmEcho }
        if stored.conversion?.testEventCode != nil { return .testEvent }
        if stored.crmState == "disabled" { return .crmDisabled }
        return nil
    }
}
