import CSQLite

/// An error from SQLite, with the statement's context.
public struct SQLiteError: Error, CustomStringConvertible {
    /// SQLite's primary result code (`SQLITE_BUSY`, `SQLITE_FULL`, …).
    public var code: Int32
    public var message: String

    public var description: String { "sqlite error \(code): \(message)" }
}

/// One SQLite connection.
///
/// Not thread-safe: each owner (the journal's writer thread, or the reader behind its lock)
/// has its own connection, which is how SQLite in WAL mode lets reads run beside the writer.
final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    private var statements: [StatementKey: SQLiteStatement] = [:]

    /// Process-wide settings, made once before the first connection opens.
    private static let configured: Bool = csqlite_disable_memory_statistics() == SQLITE_OK

    /// Opens (creating if needed) the database file; `readOnly` opens an existing file only
    /// and refuses every write.
    init(path: String, readOnly: Bool = false) throws {
        _ = Self.configured
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        var handle: OpaquePointer?
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(handle)
            throw SQLiteError(code: status, message: "cannot open \(path): \(message)")
        }
        self.handle = handle
        // Wait for a lock instead of failing at once: the reader and a checkpoint can hold one
        // briefly.
        sqlite3_busy_timeout(handle, 5_000)
    }

    deinit {
        close()
    }

    func close() {
        statements.values.forEach { $0.finalize() }
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    /// Runs SQL that returns no rows (several statements allowed).
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: status, message: message)
        }
    }

    /// A prepared statement, cached by its SQL text, reset and with bindings cleared.
    func statement(_ sql: String) throws -> SQLiteStatement {
        let key = StatementKey(sql: sql)
        if let cached = statements[key] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let status = sqlite3_prepare_v2(handle, sql, -1, &raw, nil)
        guard status == SQLITE_OK, let raw else {
            throw SQLiteError(code: status, message: "\(lastErrorMessage) in: \(sql)")
        }
        let statement = SQLiteStatement(raw, database: self)
        statements[key] = statement
        return statement
    }

    /// The statement cache's key: it hashes the SQL's length and a few of its bytes, not all
    /// of them. The texts run to hundreds of bytes, an append looks up about fifteen, and
    /// SipHash over each whole text cost more than binding its values. Equality still compares
    /// the whole text (at once, for the same literal).
    private struct StatementKey: Hashable {
        let sql: String

        func hash(into hasher: inout Hasher) {
            let sampled: Void? = sql.utf8.withContiguousStorageIfAvailable { bytes in
                hasher.combine(bytes.count)
                let stride = max(bytes.count / 16, 1)
                for index in Swift.stride(from: 0, to: bytes.count, by: stride) {
                    hasher.combine(bytes[index])
                }
            }
            if sampled == nil { hasher.combine(sql) }
        }
    }

    /// Resets every cached statement, so that none holds a cursor or a lock. A statement that
    /// stopped after its first row keeps its read open until reset, and an open statement can
    /// make COMMIT or ROLLBACK fail.
    func resetStatements() {
        statements.values.forEach { $0.reset() }
    }

    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool {
        sqlite3_get_autocommit(handle) == 0
    }

    /// The rowid of the last insert on this connection.
    var lastInsertRowID: Int64 {
        sqlite3_last_insert_rowid(handle)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    var changes: Int {
        Int(sqlite3_changes(handle))
    }

    var lastErrorMessage: String {
        handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database is closed"
    }
}

/// A prepared statement. Binding indexes start at 1, column indexes at 0, as in SQLite.
final class SQLiteStatement {
    private var raw: OpaquePointer?
    private unowned let database: SQLiteDatabase
    private let parameterCount: Int
    /// Whether every parameter was bound since the last reset. Clearing the bindings at each
    /// reset, when nearly every use binds them all again, was a tenth of an append's SQLite
    /// calls; a run without a fresh `bind` still sees NULLs, as with clearing.
    private var bindingsAreFresh = false

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
        self.parameterCount = Int(sqlite3_bind_parameter_count(raw))
    }

    func finalize() {
        sqlite3_finalize(raw)
        raw = nil
    }

    func reset() {
        sqlite3_reset(raw)
        bindingsAreFresh = false
    }

    /// Binds values in order, from index 1.
    @discardableResult
    func bind(_ values: SQLiteValue...) throws -> SQLiteStatement {
        try bind(values)
    }

    @discardableResult
    func bind(_ values: [SQLiteValue]) throws -> SQLiteStatement {
        if values.count < parameterCount { sqlite3_clear_bindings(raw) }
        bindingsAreFresh = true
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null:
                status = sqlite3_bind_null(raw, index)
            case .int(let number):
                status = sqlite3_bind_int64(raw, index, number)
            case .double(let number):
                status = sqlite3_bind_double(raw, index, number)
            case .text(let text):
                status = sqlite3_bind_text(raw, index, text, -1, csqlite_transient())
            case .blob(let bytes):
                status = bytes.withUnsafeBytes { buffer in
                    sqlite3_bind_blob(
                        raw, index, buffer.baseAddress, Int32(buffer.count), csqlite_transient())
                }
            }
            guard status == SQLITE_OK else {
                throw SQLiteError(code: status, message: database.lastErrorMessage)
            }
        }
        return self
    }

    /// Steps once; true while a row is available.
    func step() throws -> Bool {
        if !bindingsAreFresh && parameterCount > 0 {
            sqlite3_clear_bindings(raw)
            bindingsAreFresh = true
        }
        let status = sqlite3_step(raw)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(code: status, message: database.lastErrorMessage)
            sqlite3_reset(raw)
            throw error
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 {
        sqlite3_column_int64(raw, column)
    }

    func double(_ column: Int32) -> Double {
        sqlite3_column_double(raw, column)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(raw, column) == SQLITE_NULL
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(raw, column) else { return nil }
        return String(cString: pointer)
    }

    /// Columns in the result.
    var columnCount: Int32 { sqlite3_column_count(raw) }

    /// The column as the value SQLite stored: integer, real, text or blob.
    func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(raw, column) {
        case SQLITE_INTEGER: .int(int(column))
        case SQLITE_FLOAT: .double(double(column))
        case SQLITE_BLOB: .blob(blob(column))
        case SQLITE_NULL: .null
        default: text(column).map(SQLiteValue.text) ?? .null
        }
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A value bound to a statement parameter.
enum SQLiteValue {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])

    static func optionalText(_ value: String?) -> SQLiteValue {
        value.map(SQLiteValue.text) ?? .null
    }

    static func optionalInt(_ value: Int?) -> SQLiteValue {
        value.map { .int(Int64($0)) } ?? .null
    }
}
