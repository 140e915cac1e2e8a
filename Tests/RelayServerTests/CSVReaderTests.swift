import Testing

@testable import RelayServer

/// The CRM export reader: RFC 4180 quoting, CRLF, and clear errors.
@Suite struct CSVReaderTests {
    @Test func quotedFieldsHoldCommasLineBreaksAndDoubledQuotes() throws {
        let text = "id,name,note\r\n7,\"Doe, Jane \"\"JD\"\"\",\"two\r\nlines\"\r\n8,Roe,\r\n"
        #expect(
            try CSVReader.parse(text) == [
                ["id", "name", "note"], ["7", "Doe, Jane \"JD\"", "two\r\nlines"],
                ["8", "Roe", ""],
            ])
    }

    @Test func bareLineFeedsAByteOrderMarkAndNoFinalNewlineAreRead() throws {
        #expect(try CSVReader.parse("\u{FEFF}a,b\nc,d") == [["a", "b"], ["c", "d"]])
        #expect(try CSVReader.parse("a\n\"\"") == [["a"], [""]])
        #expect(try CSVReader.parse("") == [])
    }

    @Test func malformedQuotingIsAnErrorWithItsLine() {
        #expect(
            throws: CSVError(line: 2, message: "a quoted field is never closed by a double quote")
        ) {
            try CSVReader.parse("a,b\n\"open,c\n")
        }
        #expect(throws: CSVError.self) { try CSVReader.parse("a,b\nx\"y,c\n") }
        #expect(throws: CSVError.self) { try CSVReader.parse("\"a\"b,c\n") }
    }

    @Test func crmRecordsAreFoundByConfiguredColumnsInAnyCase() throws {
        var columns = RelayConfiguration.CRMColumns()
        columns.eventID = "Event ID"
        columns.recordID = "Record ID"
        let records = try CRMExportRecord.read(
            csv: "record id,EVENT ID,created_at\r\n1,cr1.a,2025-12-01\r\n2,,\r\n",
            columns: columns, file: "crm.csv")
        #expect(
            records == [
                CRMExportRecord(
                    line: 2, recordID: "1", eventID: "cr1.a", createdAtMillis: 1_764_547_200_000),
                CRMExportRecord(line: 3, recordID: "2", eventID: "", createdAtMillis: nil),
            ])
        #expect(throws: CRMExportError.self) {
            try CRMExportRecord.read(csv: "a,b\n1,2\n", columns: columns, file: "crm.csv")
        }
    }

    @Test func sinceTakesDatesTimesSecondsAndDurations() {
        let now: Int64 = 1_764_763_200_000
        #expect(QATime.parse("2025-12-01", nowMillis: now) == 1_764_547_200_000)
        #expect(QATime.parse("2025-12-01T00:00:10Z", nowMillis: now) == 1_764_547_210_000)
        #expect(QATime.parse("1764547200", nowMillis: now) == 1_764_547_200_000)
        #expect(QATime.parse("24h", nowMillis: now) == now - 86_400_000)
        #expect(QATime.parse("7d", nowMillis: now) == now - 7 * 86_400_000)
        #expect(QATime.parse("yesterday", nowMillis: now) == nil)
    }
}
