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
        """,
        // Version 2: the journal's totals, kept by triggers in the transaction of every change
        // they count, so that each relay's feed reads a few rows every second instead of
        // counting the whole database. The names are SQLite's (`deliveries`,
        // `signals.<outcome>`, `conversions`, `capi.<state>`, `crm.<state>`, `consent_drops`,
        // `pixel_echoes`), and each relay adds to rows of its own (its session's
        // `capi_relay.node`), so relays never wait on one hot row; a read adds the nodes up.
        // A state change is a -1 and a +1 under the relay that made it. Pixel matches are not
        // kept: a conversion and its echo committed at the same moment by two relays would
        // each miss the other, so a read counts them (through the event index).
        """
        CREATE TABLE journal_counts (
            name TEXT NOT NULL,
            node TEXT NOT NULL,
            value BIGINT NOT NULL,
            PRIMARY KEY (name, node)
        );
        INSERT INTO journal_counts SELECT 'deliveries', '', count(*) FROM deliveries;
        INSERT INTO journal_counts SELECT 'signals.' || outcome, '', count(*) FROM signals
            GROUP BY outcome;
        INSERT INTO journal_counts SELECT 'conversions', '', count(*) FROM conversions;
        INSERT INTO journal_counts SELECT 'capi.' || capi_state, '', count(*) FROM conversions
            GROUP BY capi_state;
        INSERT INTO journal_counts SELECT 'crm.' || crm_state, '', count(*) FROM conversions
            GROUP BY crm_state;
        INSERT INTO journal_counts SELECT 'consent_drops', '',
            (SELECT count(*) FROM conversions WHERE consent_dropped IS NOT NULL)
            + (SELECT count(*) FROM signals WHERE reason LIKE 'consent:%');
        INSERT INTO journal_counts SELECT 'pixel_echoes', '', count(*) FROM pixel_echoes;

        -- PL/pgSQL keeps each statement's plan for the session: a trigger costs its inserts,
        -- not their planning. One insert per trigger, of every name the row counts under.
        CREATE FUNCTION capi_relay_count_insert() RETURNS trigger AS $$
        DECLARE
            relay TEXT := coalesce(current_setting('capi_relay.node', true), '');
        BEGIN
            IF TG_TABLE_NAME = 'deliveries' THEN
                INSERT INTO journal_counts VALUES ('deliveries', relay, 1)
                ON CONFLICT (name, node) DO UPDATE SET value = journal_counts.value + 1;
            ELSIF TG_TABLE_NAME = 'signals' THEN
                INSERT INTO journal_counts
                SELECT counted, relay, 1 FROM (VALUES ('signals.' || NEW.outcome),
                    (CASE WHEN NEW.reason LIKE 'consent:%' THEN 'consent_drops' END)) AS v(counted)
                WHERE counted IS NOT NULL
                ON CONFLICT (name, node) DO UPDATE SET value = journal_counts.value + 1;
            ELSIF TG_TABLE_NAME = 'conversions' THEN
                INSERT INTO journal_counts
                SELECT counted, relay, 1 FROM (VALUES ('conversions'),
                    ('capi.' || NEW.capi_state), ('crm.' || NEW.crm_state),
                    (CASE WHEN NEW.consent_dropped IS NOT NULL THEN 'consent_drops' END))
                    AS v(counted)
                WHERE counted IS NOT NULL
                ON CONFLICT (name, node) DO UPDATE SET value = journal_counts.value + 1;
            ELSIF TG_TABLE_NAME = 'pixel_echoes' THEN
                INSERT INTO journal_counts VALUES ('pixel_echoes', relay, 1)
                ON CONFLICT (name, node) DO UPDATE SET value = journal_counts.value + 1;
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql;

        -- Once per statement, over the rows it changed: a batch of a thousand events
        -- recorded sent is one insert here, not a thousand.
        CREATE FUNCTION capi_relay_count_states() RETURNS trigger AS $$
        DECLARE
            relay TEXT := coalesce(current_setting('capi_relay.node', true), '');
        BEGIN
            INSERT INTO journal_counts
            SELECT counted, relay, sum(delta) FROM (
                SELECT 'capi.' || o.capi_state AS counted, -1 AS delta, o.id
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.capi_state <> n.capi_state
                UNION ALL SELECT 'capi.' || n.capi_state, 1, n.id
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.capi_state <> n.capi_state
                UNION ALL SELECT 'crm.' || o.crm_state, -1, o.id
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.crm_state <> n.crm_state
                UNION ALL SELECT 'crm.' || n.crm_state, 1, n.id
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE o.crm_state <> n.crm_state
            ) AS changes
            GROUP BY counted
            ON CONFLICT (name, node) DO UPDATE SET value = journal_counts.value + excluded.value;
            RETURN NULL;
        END $$ LANGUAGE plpgsql;

        CREATE TRIGGER count_delivery AFTER INSERT ON deliveries
            FOR EACH ROW EXECUTE FUNCTION capi_relay_count_insert();
        CREATE TRIGGER count_signal AFTER INSERT ON signals
            FOR EACH ROW EXECUTE FUNCTION capi_relay_count_insert();
        CREATE TRIGGER count_conversion AFTER INSERT ON conversions
            FOR EACH ROW EXECUTE FUNCTION capi_relay_count_insert();
        CREATE TRIGGER count_pixel_echo AFTER INSERT ON pixel_echoes
            FOR EACH ROW EXECUTE FUNCTION capi_relay_count_insert();
        CREATE TRIGGER count_states AFTER UPDATE ON conversions
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION capi_relay_count_states();
        """,
        // Version 3: no `dedupe_keys`; the dedupe lookup reads the conversions' event index,
        // as on SQLite (its version 10). An append held the event's key with an advisory lock
        // before reading either, so the two reads see the same committed conversions.
        """
        DROP TABLE IF EXISTS dedupe_keys;
        """,
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
