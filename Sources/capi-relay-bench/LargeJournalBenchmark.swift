import CSQLite
import Foundation

/// `serve` on a journal of about a million delivered conversions: start-up, resident memory
/// when idle and under the saturation load, and the ingest rate, next to the same on an empty
/// journal in the same run. Memory must not grow with the journal: the relay keeps no per-event
/// state in memory, and its feed statistics must not read every row each second.
struct LargeJournalBenchmark {
    var relayBinary: String
    var conversions: Int
    var events: Int
    var connections: Int

    func run() throws {
        print(
            "large journal  serve on a journal of about \(conversions) delivered conversions, "
                + "\(events) webhooks at saturation, \(connections) connections")
        let empty = try measure(prefill: 0)
        print("  empty journal       \(empty.summary)")
        let large = try measure(prefill: conversions)
        print("  large journal       \(large.summary)")
    }

    struct Figures {
        var conversions: Int
        var journalMiB: Double
        var startupMillis: Double
        var idleRSSMiB: Double
        var peakRSSMiB: Double
        var load: LoadGenerator.Report

        var summary: String {
            String(
                format: "%8d conversions, %6.0f MiB on disk  start-up %6.1f ms", conversions,
                journalMiB, startupMillis)
                + String(
                    format: "  RSS idle %5.1f MiB, peak %5.1f MiB  %6.0f req/s", idleRSSMiB,
                    peakRSSMiB, load.rate)
        }
    }

    private func measure(prefill: Int) throws -> Figures {
        let stack = try BenchStack(relayBinary: relayBinary)
        defer { stack.stop() }
        var total = 0
        if prefill > 0 {
            // Real rows first: a thousand webhooks through the relay, then copies of them.
            let seedCount = 1_000
            _ = LoadGenerator(port: stack.relayPort, connections: connections, offeredRate: nil)
                .run(IngestBenchmark.webhooks(count: seedCount, seed: 11))
            stack.relay.stop()
            total = try Self.grow(journal: stack.journalPath, from: seedCount, to: prefill)
            try stack.startRelay()
        }
        // Let start-up work (the first feed statistics, the first dispatch tick) settle.
        Thread.sleep(forTimeInterval: 2)
        let idle = stack.relay.currentRSSMiB() ?? 0
        let load = LoadGenerator(port: stack.relayPort, connections: connections, offeredRate: nil)
            .run(IngestBenchmark.webhooks(count: events, seed: 12))
        let size =
            (try? FileManager.default.attributesOfItem(atPath: stack.journalPath)[.size])
            as? Int ?? 0
        return Figures(
            conversions: total, journalMiB: Double(size) / 1_048_576,
            startupMillis: stack.startupMillis, idleRSSMiB: idle,
            peakRSSMiB: stack.relay.peakRSSMiB() ?? 0, load: load)
    }

    /// Doubles every row of the journal, with keys made unique by a suffix, until it holds at
    /// least `target` conversions, all marked delivered; returns how many it holds. The copies
    /// are bench data only: they stand in for a long-running journal's history.
    static func grow(journal path: String, from count: Int, to target: Int) throws -> Int {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            throw BenchmarkError("cannot open \(path)")
        }
        defer { sqlite3_close_v2(handle) }
        func execute(_ sql: String) throws {
            var message: UnsafeMutablePointer<CChar>?
            guard sqlite3_exec(handle, sql, nil, nil, &message) == SQLITE_OK else {
                let text = message.map { String(cString: $0) } ?? "unknown error"
                sqlite3_free(message)
                throw BenchmarkError("growing the journal failed: \(text)")
            }
        }
        var rows = count
        var round = 0
        while rows < target {
            round += 1
            let suffix = "'.g\(round)'"
            try execute(
                """
                BEGIN;
                INSERT INTO deliveries (source, received_at_ms, body)
                    SELECT source, received_at_ms, body FROM deliveries;
                INSERT INTO signals (delivery_id, position, kind, page_id, page_scoped_user_id,
                        mid, timestamp_ms, outcome, reason, conversion_id)
                    SELECT delivery_id, position, kind, page_id, page_scoped_user_id || \(suffix),
                        mid || \(suffix), timestamp_ms, outcome, reason, conversion_id FROM signals;
                INSERT INTO conversions (dataset, event_name, event_id, body, event_time,
                        created_at_ms, capi_state, capi_attempts, capi_next_at_ms, capi_reason,
                        crm_state, crm_attempts, crm_next_at_ms, crm_reason, consent_dropped, source,
                        consent, consent_source, invalid_dropped)
                    SELECT dataset, event_name, event_id || \(suffix), body, event_time,
                        created_at_ms, capi_state, capi_attempts, capi_next_at_ms, capi_reason,
                        crm_state, crm_attempts, crm_next_at_ms, crm_reason, consent_dropped, source,
                        consent, consent_source, invalid_dropped FROM conversions;
                INSERT INTO source_keys (dataset, event_name, source_key, conversion_id,
                        first_seen_ms)
                    SELECT dataset, event_name, source_key || \(suffix), conversion_id,
                        first_seen_ms FROM source_keys;
                INSERT INTO identity_keys (dataset, event_name, identity, event_time,
                        conversion_id)
                    SELECT dataset, event_name, identity || \(suffix), event_time, conversion_id
                    FROM identity_keys;
                COMMIT;
                """)
            rows *= 2
        }
        try execute(
            """
            UPDATE conversions SET capi_state = 'sent' WHERE capi_state = 'pending';
            UPDATE conversions SET crm_state = 'sent' WHERE crm_state = 'pending';
            """)
        return rows
    }
}
