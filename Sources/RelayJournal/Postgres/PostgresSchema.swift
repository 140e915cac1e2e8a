/// The PostgreSQL journal's tables, one migration per schema version.
///
/// The same tables as SQLite's (``JournalSchema``), in PostgreSQL's types, plus what several
/// relays sharing one database need: delivery leases (which relay holds a conversion while it
/// is on the wire, and until when) and match-key counts kept per relay. The version lives in
/// `schema_version`; a database whose version is above the newest one here was written by a
/// newer capi-relay and is refused rather than misread.
enum PostgresSchema {
    static let migrations: [String] = [
        // Version 1: everything SQLite's versions 1 to 7 hold, and the leases.
        """
        CREATE TABLE deliveries (
            id BIGSERIAL PRIMARY KEY,
            source TEXT NOT NULL,
            received_at_ms BIGINT NOT NULL,
            body BYTEA NOT NULL
        );
        CREATE TABLE signals (
            id BIGSERIAL PRIMARY KEY,
            delivery_id BIGINT NOT NULL REFERENCES deliveries(id),
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            mid TEXT,
            timestamp_ms BIGINT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('conversion', 'dedupe_hit', 'not_conversion')),
            reason TEXT,
            conversion_id BIGINT
        );
        CREATE INDEX signals_conversion ON signals (conversion_id);
        CREATE TABLE threads (
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            referral TEXT NOT NULL,
            first_seen_ms BIGINT NOT NULL,
            PRIMARY KEY (page_id, page_scoped_user_id)
        );
        CREATE TABLE conversions (
            id BIGSERIAL PRIMARY KEY,
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            event_id TEXT NOT NULL,
            body TEXT NOT NULL,
            event_time BIGINT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            capi_state TEXT NOT NULL,
            capi_attempts INTEGER NOT NULL DEFAULT 0,
            capi_next_at_ms BIGINT NOT NULL,
            capi_reason TEXT,
            crm_state TEXT NOT NULL,
            crm_attempts INTEGER NOT NULL DEFAULT 0,
            crm_next_at_ms BIGINT NOT NULL,
            crm_reason TEXT,
            consent_dropped TEXT,
            source TEXT,
            consent TEXT,
            consent_source TEXT,
            invalid_dropped TEXT,
            -- The relay that claimed the conversion for a destination, and until when (epoch
            -- milliseconds). Past that time any relay may claim it: its holder is presumed dead.
            capi_lease_owner TEXT,
            capi_lease_until_ms BIGINT,
            crm_lease_owner TEXT,
            crm_lease_until_ms BIGINT
        );
        CREATE INDEX conversions_event ON conversions (dataset, event_name, event_id);
        CREATE INDEX conversions_event_id ON conversions (event_id);
        CREATE INDEX conversions_capi_due ON conversions (capi_next_at_ms, id)
            WHERE capi_state = 'pending';
        CREATE INDEX conversions_crm_due ON conversions (crm_next_at_ms, id)
            WHERE crm_state = 'pending';
        CREATE TABLE dedupe_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            event_id TEXT NOT NULL,
            conversion_id BIGINT NOT NULL,
            first_seen_ms BIGINT NOT NULL,
            PRIMARY KEY (dataset, event_name, event_id)
        );
        CREATE INDEX dedupe_keys_event_id ON dedupe_keys (event_id);
        CREATE TABLE dedupe_hits (
            id BIGSERIAL PRIMARY KEY,
            signal_id BIGINT NOT NULL,
            matched_conversion_id BIGINT NOT NULL,
            rule TEXT NOT NULL,
            source TEXT NOT NULL,
            at_ms BIGINT NOT NULL
        );
        CREATE TABLE attempts (
            id BIGSERIAL PRIMARY KEY,
            destination TEXT NOT NULL,
            dataset TEXT,
            started_at_ms BIGINT NOT NULL,
            finished_at_ms BIGINT NOT NULL,
            http_status INTEGER,
            outcome TEXT NOT NULL,
            response TEXT NOT NULL,
            event_count INTEGER NOT NULL,
            request TEXT,
            -- The relay that made the request.
            node TEXT NOT NULL
        );
        CREATE TABLE attempt_events (
            attempt_id BIGINT NOT NULL,
            conversion_id BIGINT NOT NULL,
            PRIMARY KEY (attempt_id, conversion_id)
        );
        CREATE INDEX attempt_events_conversion ON attempt_events (conversion_id);
        CREATE TABLE profiles (
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            updated_ms BIGINT NOT NULL,
            PRIMARY KEY (page_id, page_scoped_user_id)
        );
        CREATE TABLE pixel_echoes (
            event_id TEXT NOT NULL,
            event_name TEXT NOT NULL,
            seen_at_ms BIGINT NOT NULL,
            PRIMARY KEY (event_id, event_name)
        );
        CREATE TABLE source_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            source_key TEXT NOT NULL,
            conversion_id BIGINT NOT NULL,
            first_seen_ms BIGINT NOT NULL,
            PRIMARY KEY (dataset, event_name, source_key)
        );
        CREATE TABLE identity_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            identity TEXT NOT NULL,
            event_time BIGINT NOT NULL,
            conversion_id BIGINT NOT NULL,
            PRIMARY KEY (dataset, event_name, identity, event_time, conversion_id)
        );
        CREATE TABLE dead_letters (
            id BIGSERIAL PRIMARY KEY,
            conversion_id BIGINT NOT NULL REFERENCES conversions(id),
            destination TEXT NOT NULL,
            reason_code TEXT NOT NULL,
            graph_code INTEGER,
            graph_subcode INTEGER,
            http_status INTEGER,
            message TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            event TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            resent_at_ms BIGINT
        );
        CREATE INDEX dead_letters_created ON dead_letters (created_at_ms);
        CREATE INDEX dead_letters_conversion ON dead_letters (conversion_id);
        CREATE TABLE match_key_counts (
            event_name TEXT NOT NULL,
            match_key TEXT NOT NULL,
            node TEXT NOT NULL,
            conversions BIGINT NOT NULL,
            PRIMARY KEY (event_name, match_key, node)
        );
        """
    ]

    static var latestVersion: Int { migrations.count }

    /// A lock every relay takes while it migrates, so that relays starting together run each
    /// migration once (an arbitrary number, the same in every capi-relay).
    static let migrationLock = "4711917325061"

    /// Brings the database up to date, refusing one written by a newer capi-relay.
    static func migrate(_ connection: PostgresConnection) throws {
        try connection.query("SELECT pg_advisory_lock(\(migrationLock))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(migrationLock))") }
        try connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        let current =
            Int(
                try connection.query("SELECT max(version) FROM schema_version")
                    .first?.first??.description ?? "0") ?? 0
        guard current <= latestVersion else {
            throw JournalError(
                .incompatible,
                "journal \(connection.redactedURL) has schema version \(current), newer than"
                    + " this capi-relay understands (\(latestVersion)); run the newer capi-relay"
                    + " on every relay, or point the config at another database")
        }
        for (index, migration) in migrations.enumerated() where index >= current {
            try connection.execute("BEGIN")
            do {
                try connection.execute(migration)
                try connection.execute("DELETE FROM schema_version")
                try connection.execute("INSERT INTO schema_version VALUES (\(index + 1))")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
