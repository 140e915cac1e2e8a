import Foundation

/// What the journal's writer and its append decision need from a PostgreSQL connection.
extension PostgresConnection: TransactionalDatabase, AppendDatabase {
    /// A connection the server dropped (a restart, a failover) is opened again first.
    func beginTransaction() throws {
        _ = isHealthy()
        try execute("BEGIN")
    }

    /// Prepared statements hold no cursor between calls: nothing to let go of.
    func resetStatements() {}

    /// A deadlock between two relays' batches (`40P01`) or a serialization failure (`40001`):
    /// PostgreSQL rolled one side back so the other could go on, and it may run again.
    func isRetryable(_ error: Error) -> Bool {
        guard let error = error as? PostgresError else { return false }
        return error.sqlState == "40P01" || error.sqlState == "40001"
    }

    func executeRepeated(_ sql: String) throws { try execute(sql) }

    func firstRow(_ sql: String, _ values: [SQLiteValue]) throws -> JournalRow? {
        try query(Self.numbered(sql), values.map(Self.parameter)).first.map { row in
            JournalRow(values: row.map { $0.map(SQLiteValue.text) ?? .null })
        }
    }

    func run(_ sql: String, _ values: [SQLiteValue]) throws {
        try query(Self.numbered(sql), values.map(Self.parameter))
    }

    func insertReturningID(_ sql: String, _ values: [SQLiteValue]) throws -> Int64 {
        try firstRow(sql + " RETURNING id", values)?.int(0) ?? 0
    }

    /// Transaction-scoped advisory locks, one per key (hashed to 64 bits; two keys sharing a
    /// hash only wait for each other, which is safe), taken in the order given by one
    /// statement. PostgreSQL releases them at COMMIT or ROLLBACK, after the transaction's rows
    /// became visible, so the next writer reads them.
    func serialize(on keys: [String]) throws {
        guard !keys.isEmpty else { return }
        try query(
            """
            SELECT pg_advisory_xact_lock(hashtextextended(key, 0))
            FROM unnest(string_to_array($1, \(Self.listSeparatorSQL))) WITH ORDINALITY AS k(key, n)
            ORDER BY n
            """, [Self.list(keys)])
    }

    /// Each relay counts under its own node name, so that two relays making conversions of the
    /// same event name never wait on one hot row; a read adds the nodes up.
    func countMatchKeys(_ keys: [String], eventName: String) throws {
        try query(
            """
            INSERT INTO match_key_counts (event_name, match_key, node, conversions)
            SELECT $1, key, $3, 1
            FROM unnest(string_to_array($2, \(Self.listSeparatorSQL))) AS key
            ON CONFLICT (event_name, match_key, node) DO UPDATE
            SET conversions = match_key_counts.conversions + 1
            """, [eventName, Self.list(keys), node])
    }

    /// Several values in one text parameter, for `string_to_array`: a statement for a whole
    /// list costs one round trip instead of one per value. A value holding the separator (ASCII
    /// record separator, which no key the relay makes contains) would split the same way on
    /// every relay, so two writers still agree on what they lock.
    static func list(_ values: [String]) -> String {
        values.joined(separator: "\u{1E}")
    }

    static let listSeparatorSQL = "chr(30)"

    /// SQL written with `?` placeholders, numbered `$1`, `$2`… as PostgreSQL wants them. The
    /// shared statements hold no `?` inside a string literal.
    static func numbered(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                result += "$\(index)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// A value as a text parameter: bytes in `bytea`'s hex form.
    static func parameter(_ value: SQLiteValue) -> String? {
        switch value {
        case .null: nil
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .text(let text): text
        case .blob(let bytes): "\\x" + hex(bytes)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes from `bytea`'s hex output (`\x7b7d`).
    static func bytes(fromHex text: String?) -> [UInt8] {
        guard let text, text.hasPrefix("\\x") else { return Array((text ?? "").utf8) }
        var out = [UInt8]()
        let utf8 = Array(text.utf8.dropFirst(2))
        out.reserveCapacity(utf8.count / 2)
        func value(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
            default: 0
            }
        }
        var index = 0
        while index + 1 < utf8.count {
            out.append(value(utf8[index]) << 4 | value(utf8[index + 1]))
            index += 2
        }
        return out
    }
}
