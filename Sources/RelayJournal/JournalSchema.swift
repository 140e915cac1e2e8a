/// The journal's tables, one migration per schema version.
///
/// Versions only grow. A journal whose `schema_version` is above the newest one here was
/// written by a newer capi-relay and is refused rather than misread.
enum JournalSchema {
    static let migrations: [String] = [
        // Version 1.
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            received_at_ms INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE TABLE signals (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            mid TEXT,
            timestamp_ms INTEGER NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('conversion', 'dedupe_hit', 'not_conversion')),
            reason TEXT,
            conversion_id INTEGER
        );
        CREATE TABLE threads (
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            referral TEXT NOT NULL,
            first_seen_ms INTEGER NOT NULL,
            PRIMARY KEY (page_id, page_scoped_user_id)
        ) WITHOUT ROWID;
        CREATE TABLE conversions (
            id INTEGER PRIMARY KEY,
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            event_id TEXT NOT NULL,
            body TEXT NOT NULL,
            event_time INTEGER NOT NULL,
            created_at_ms INTEGER NOT NULL,
            capi_state TEXT NOT NULL,
            capi_attempts INTEGER NOT NULL DEFAULT 0,
            capi_next_at_ms INTEGER NOT NULL,
            capi_reason TEXT,
            crm_state TEXT NOT NULL,
            crm_attempts INTEGER NOT NULL DEFAULT 0,
            crm_next_at_ms INTEGER NOT NULL,
            crm_reason TEXT
        );
        CREATE INDEX conversions_event ON conversions (dataset, event_name, event_id);
        CREATE INDEX conversions_capi_due ON conversions (capi_next_at_ms)
            WHERE capi_state = 'pending';
        CREATE INDEX conversions_crm_due ON conversions (crm_next_at_ms)
            WHERE crm_state = 'pending';
        CREATE TABLE dedupe_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            event_id TEXT NOT NULL,
            conversion_id INTEGER NOT NULL,
            first_seen_ms INTEGER NOT NULL,
            PRIMARY KEY (dataset, event_name, event_id)
        ) WITHOUT ROWID;
        CREATE TABLE dedupe_hits (
            id INTEGER PRIMARY KEY,
            signal_id INTEGER NOT NULL,
            matched_conversion_id INTEGER NOT NULL,
            rule TEXT NOT NULL,
            source TEXT NOT NULL,
            at_ms INTEGER NOT NULL
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            destination TEXT NOT NULL,
            dataset TEXT,
            started_at_ms INTEGER NOT NULL,
            finished_at_ms INTEGER NOT NULL,
            http_status INTEGER,
            outcome TEXT NOT NULL,
            response TEXT NOT NULL,
            event_count INTEGER NOT NULL
        );
        CREATE TABLE attempt_events (
            attempt_id INTEGER NOT NULL,
            conversion_id INTEGER NOT NULL,
            PRIMARY KEY (attempt_id, conversion_id)
        ) WITHOUT ROWID;
        CREATE INDEX attempt_events_conversion ON attempt_events (conversion_id);
        """,
        // Version 2: contact profiles (consent and hashed identifiers, never raw values) and
        // the names of fields a conversion lost for lack of consent.
        """
        CREATE TABLE profiles (
            page_id TEXT NOT NULL,
            page_scoped_user_id TEXT NOT NULL,
            profile TEXT NOT NULL,
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (page_id, page_scoped_user_id)
        ) WITHOUT ROWID;
        ALTER TABLE conversions ADD COLUMN consent_dropped TEXT;
        """,
        // Version 3: pixel echoes, one row per (event_id, event_name) the browser pixel was
        // seen to fire, for pixel coverage in `qa`.
        """
        CREATE TABLE pixel_echoes (
            event_id TEXT NOT NULL,
            event_name TEXT NOT NULL,
            seen_at_ms INTEGER NOT NULL,
            PRIMARY KEY (event_id, event_name)
        );
        """,
        // Version 4: the request body of each attempt exactly as sent, so that `qa` checks what
        // left the relay rather than what it would send now. The access token travels in the
        // URL and the CRM signature in a header: neither is in a body.
        """
        ALTER TABLE attempts ADD COLUMN request TEXT;
        """,
        // Version 5: the dedupe hierarchy's other keys (source keys; identities with event
        // times), and per conversion its source, consent state and the customer values dropped
        // as invalid (field and reason, never the value).
        """
        CREATE TABLE source_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            source_key TEXT NOT NULL,
            conversion_id INTEGER NOT NULL,
            first_seen_ms INTEGER NOT NULL,
            PRIMARY KEY (dataset, event_name, source_key)
        ) WITHOUT ROWID;
        CREATE TABLE identity_keys (
            dataset TEXT NOT NULL,
            event_name TEXT NOT NULL,
            identity TEXT NOT NULL,
            event_time INTEGER NOT NULL,
            conversion_id INTEGER NOT NULL,
            PRIMARY KEY (dataset, event_name, identity, event_time, conversion_id)
        ) WITHOUT ROWID;
        CREATE INDEX dedupe_keys_event_id ON dedupe_keys (event_id);
        ALTER TABLE conversions ADD COLUMN source TEXT;
        ALTER TABLE conversions ADD COLUMN consent TEXT;
        ALTER TABLE conversions ADD COLUMN consent_source TEXT;
        ALTER TABLE conversions ADD COLUMN invalid_dropped TEXT;
        """,
        // Version 6: dead letters. One row each time a destination gives up on an event
        // (a permanent error, attempts exhausted, expiry), with the reason as Meta gave it and
        // the event as it was; the attempts stay in `attempts`. A resend stamps `resent_at_ms`
        // rather than deleting, so the history of a re-sent event stays whole.
        """
        CREATE TABLE dead_letters (
            id INTEGER PRIMARY KEY,
            conversion_id INTEGER NOT NULL REFERENCES conversions(id),
            destination TEXT NOT NULL,
            reason_code TEXT NOT NULL,
            graph_code INTEGER,
            graph_subcode INTEGER,
            http_status INTEGER,
            message TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            event TEXT NOT NULL,
            created_at_ms INTEGER NOT NULL,
            resent_at_ms INTEGER
        );
        CREATE INDEX dead_letters_created ON dead_letters (created_at_ms);
        CREATE INDEX dead_letters_conversion ON dead_letters (conversion_id);
        """,
        // Version 7: per event name, how many conversions carry each match key (and, under
        // "*", how many there are), kept in the insert's transaction so the feed can show
        // match-key coverage every second without reading every conversion. Conversions
        // journaled before this version are not counted.
        """
        CREATE TABLE match_key_counts (
            event_name TEXT NOT NULL,
            match_key TEXT NOT NULL,
            conversions INTEGER NOT NULL,
            PRIMARY KEY (event_name, match_key)
        ) WITHOUT ROWID;
        """,
        // Version 8: the journal's totals, kept by triggers in the transaction of every change
        // they count, so that the feed's statistics each second and start-up read a few rows
        // instead of counting a journal of millions (counting took 2.4 s at a million
        // conversions, every second). Names: `deliveries`, `signals.<outcome>`, `conversions`,
        // `capi.<state>`, `crm.<state>`, `consent_drops`, `pixel_echoes`, `pixel_matched`.
        // Existing journals are counted once, here.
        """
        CREATE TABLE journal_counts (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO journal_counts SELECT 'deliveries', count(*) FROM deliveries;
        INSERT INTO journal_counts SELECT 'signals.' || outcome, count(*) FROM signals
            GROUP BY outcome;
        INSERT INTO journal_counts SELECT 'conversions', count(*) FROM conversions;
        INSERT INTO journal_counts SELECT 'capi.' || capi_state, count(*) FROM conversions
            GROUP BY capi_state;
        INSERT INTO journal_counts SELECT 'crm.' || crm_state, count(*) FROM conversions
            GROUP BY crm_state;
        INSERT INTO journal_counts SELECT 'consent_drops',
            (SELECT count(*) FROM conversions WHERE consent_dropped IS NOT NULL)
            + (SELECT count(*) FROM signals WHERE reason LIKE 'consent:%');
        INSERT INTO journal_counts SELECT 'pixel_echoes', count(*) FROM pixel_echoes;
        INSERT INTO journal_counts SELECT 'pixel_matched', count(*) FROM conversions c
            WHERE EXISTS (SELECT 1 FROM pixel_echoes p
                WHERE p.event_id = c.event_id AND p.event_name = c.event_name);

        CREATE TRIGGER count_delivery AFTER INSERT ON deliveries BEGIN
            INSERT INTO journal_counts VALUES ('deliveries', 1)
                ON CONFLICT (name) DO UPDATE SET value = value + 1;
        END;
        CREATE TRIGGER count_signal AFTER INSERT ON signals BEGIN
            INSERT INTO journal_counts
                SELECT 'signals.' || NEW.outcome, 1
                UNION ALL SELECT 'consent_drops', 1 WHERE NEW.reason LIKE 'consent:%'
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
        END;
        CREATE TRIGGER count_conversion AFTER INSERT ON conversions BEGIN
            INSERT INTO journal_counts
                SELECT 'conversions', 1
                UNION ALL SELECT 'capi.' || NEW.capi_state, 1
                UNION ALL SELECT 'crm.' || NEW.crm_state, 1
                UNION ALL SELECT 'consent_drops', 1 WHERE NEW.consent_dropped IS NOT NULL
                UNION ALL SELECT 'pixel_matched', 1 WHERE EXISTS (SELECT 1 FROM pixel_echoes p
                    WHERE p.event_id = NEW.event_id AND p.event_name = NEW.event_name)
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
        END;
        CREATE TRIGGER count_capi_state AFTER UPDATE OF capi_state ON conversions
            WHEN OLD.capi_state <> NEW.capi_state BEGIN
            INSERT INTO journal_counts
                VALUES ('capi.' || OLD.capi_state, -1), ('capi.' || NEW.capi_state, 1)
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
        END;
        CREATE TRIGGER count_crm_state AFTER UPDATE OF crm_state ON conversions
            WHEN OLD.crm_state <> NEW.crm_state BEGIN
            INSERT INTO journal_counts
                VALUES ('crm.' || OLD.crm_state, -1), ('crm.' || NEW.crm_state, 1)
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
        END;
        CREATE TRIGGER count_pixel_echo AFTER INSERT ON pixel_echoes BEGIN
            INSERT INTO journal_counts
                SELECT 'pixel_echoes', 1
                UNION ALL SELECT 'pixel_matched', count(*) FROM conversions c
                    WHERE c.event_id = NEW.event_id AND c.event_name = NEW.event_name
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value;
        END;
        """,
        // Version 9: the event index leads with event_id. Led by dataset, it served only the
        // dedupe lookup, which reads `dedupe_keys`; a CRM echo, `inspect`, `resend` and the
        // pixel echo's count name an event by its id alone and read every conversion for it
        // (the CRM echo's lookup on the journal writer, which every webhook waits for). Same
        // columns, so an append writes no more than before.
        """
        DROP INDEX conversions_event;
        CREATE INDEX conversions_event ON conversions (event_id, event_name, dataset);
        """,
        // Version 10: no `dedupe_keys`. It held, per dataset, event name and event id, the
        // newest conversion and when it was made, which the event index above finds as
        // fast; every conversion wrote it and its event_id index (read by nothing) all the
        // same: two more random places in the journal per append, a fifth of the pages a
        // commit writes.
        """
        DROP INDEX IF EXISTS dedupe_keys_event_id;
        DROP TABLE IF EXISTS dedupe_keys;
        """,
        // Version 11: signals by the conversion they made or matched. `inspect` finds the
        // webhook behind a conversion through it; without, it built a temporary index over
        // every signal on each call (0.5 s at half a million conversions, holding the read
        // lock delivery also needs). Conversion ids only grow, so an append adds at one end.
        // PostgreSQL has had this index from its first version.
        """
        CREATE INDEX IF NOT EXISTS signals_conversion ON signals (conversion_id)
            WHERE conversion_id IS NOT NULL;
        """,
    ]

    static var latestVersion: Int { migrations.count }

    /// The journal's schema version, refusing one written by a newer capi-relay with a message
    /// that names the file and ends with `advice`.
    static func version(of database: SQLiteDatabase, path: String, advice: String) throws -> Int {
        let statement = try database.statement("PRAGMA user_version")
        let current = try statement.step() ? Int(statement.int(0)) : 0
        // An unfinished statement would keep a read snapshot open, and the connection's first
        // write would then fail at once with SQLITE_BUSY whenever another process (a
        // `resend` beside the relay) had written since.
        statement.reset()
        guard current <= latestVersion else {
            throw JournalError(
                .incompatible,
                "journal \(path) has schema version \(current), newer than this capi-relay"
                    + " understands (\(latestVersion)); \(advice)")
        }
        return current
    }
}
