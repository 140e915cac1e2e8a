/// What the append decision needs from a database, so that one implementation of the dedupe
/// hierarchy, consent and profiles serves SQLite and PostgreSQL alike.
///
/// Statements use `?` placeholders and SQL both dialects accept; where the two must differ
/// (match-key counts, serializing decisions between writers) the protocol names the intent
/// instead of the statement.
protocol AppendDatabase {
    /// Runs a statement and returns its first row, or nil when there is none.
    func firstRow(_ sql: String, _ values: [SQLiteValue]) throws -> JournalRow?

    /// Runs a statement that returns no rows.
    func run(_ sql: String, _ values: [SQLiteValue]) throws

    /// Runs an INSERT of one row into a table keyed by `id` and returns the new row's id.
    func insertReturningID(_ sql: String, _ values: [SQLiteValue]) throws -> Int64

    /// Makes every other writer that decides one of these keys wait until this transaction
    /// ends, so that two relays deciding the same event at once see each other's decision.
    /// Keys are held in the order given; callers sort them, which keeps two writers from
    /// waiting on each other over one item.
    func serialize(on keys: [String]) throws

    /// Counts one new conversion of `eventName` under each match key (and under `*`).
    func countMatchKeys(_ keys: [String], eventName: String) throws
}

/// One row of a result, as the append decision reads it.
struct JournalRow {
    var values: [SQLiteValue]

    /// The column as an integer; 0 for NULL or for text that is not a number.
    func int(_ column: Int) -> Int64 {
        switch values[column] {
        case .int(let number): number
        case .text(let text): Int64(text) ?? 0
        case .double(let number): Int64(number)
        case .null, .blob: 0
        }
    }

    /// The column as text; nil for NULL.
    func text(_ column: Int) -> String? {
        switch values[column] {
        case .text(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .null: nil
        }
    }
}

extension SQLiteDatabase: AppendDatabase {
    func firstRow(_ sql: String, _ values: [SQLiteValue]) throws -> JournalRow? {
        let statement = try statement(sql).bind(values)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return JournalRow(
            values: (0..<statement.columnCount).map { column in
                statement.value(column)
            })
    }

    func run(_ sql: String, _ values: [SQLiteValue]) throws {
        try statement(sql).bind(values).run()
    }

    /// The connection's last rowid rather than `RETURNING`, which makes SQLite gather the
    /// returned rows in a table of their own for every insert.
    func insertReturningID(_ sql: String, _ values: [SQLiteValue]) throws -> Int64 {
        try statement(sql).bind(values).run()
        return lastInsertRowID
    }

    /// One connection writes a SQLite journal, holding the file's lock: nothing to wait for.
    func serialize(on keys: [String]) throws {}

    func countMatchKeys(_ keys: [String], eventName: String) throws {
        let counting = try statement(
            """
            INSERT INTO match_key_counts (event_name, match_key, conversions) VALUES (?, ?, 1)
            ON CONFLICT (event_name, match_key) DO UPDATE SET conversions = conversions + 1
            """)
        for key in keys {
            counting.reset()
            try counting.bind(.text(eventName), .text(key)).run()
        }
    }
}
