import Foundation
import RelayCore
import RelayJournal

/// The SQLite journal's durable append rate (`synchronous=FULL`, one fsync per transaction):
/// many concurrent writers sharing transactions through group commit, next to one writer whose
/// every append is a transaction of its own, as a journal without group commit would commit.
///
/// Each append is a whole webhook's worth of work: the delivery, its signal, a conversion with
/// hashed customer information, the dedupe decision and the queue rows for CAPI and the CRM.
struct JournalBenchmark {
    var appends: Int
    var writers: Int

    func run() throws {
        print("journal  durable appends (synchronous=FULL), one conversion each")
        let shared = try measure(appends: appends, writers: writers, seed: 1)
        print(
            String(
                format:
                    "  group commit, %3d writers  %8.0f appends/s  %6.1f appends per transaction",
                writers, shared.rate, shared.perTransaction))
        // Alone, a writer waits for each fsync; a tenth of the appends gives a steady figure.
        let alone = try measure(appends: max(appends / 10, 100), writers: 1, seed: 2)
        print(
            String(
                format:
                    "  one writer, no sharing     %8.0f appends/s  %6.1f appends per transaction",
                alone.rate, alone.perTransaction))
        print(String(format: "    group commit is %.1f× the rate", shared.rate / alone.rate))
    }

    private func measure(appends: Int, writers: Int, seed: Int) throws -> (
        rate: Double, perTransaction: Double
    ) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("capi-relay-bench-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let journal = try SQLiteJournal(
            path: directory.appendingPathComponent("journal.sqlite").path)
        defer { journal.close() }

        let deliveries = Self.deliveries(count: appends, seed: seed)
        let failures = Failures()
        let start = DispatchTime.now().uptimeNanoseconds
        // Threads of their own, as many as there are writers: `concurrentPerform` would run
        // only as many at once as there are cores.
        let group = DispatchGroup()
        for writer in 0..<writers {
            group.enter()
            Thread {
                for index in stride(from: writer, to: deliveries.count, by: writers) {
                    do {
                        _ = try journal.appendAndWait(deliveries[index])
                    } catch {
                        failures.add(error)
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let error = failures.first { throw BenchmarkError("an append failed: \(error)") }
        return (
            Double(appends) / seconds,
            Double(appends) / Double(max(journal.transactionsCommitted, 1))
        )
    }

    /// Unique webhook deliveries, each one quick reply that maps to a Lead.
    static func deliveries(count: Int, seed: Int) -> [InboundDelivery] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let conversions = EncodingBenchmark.conversions(count: count)
        return conversions.enumerated().map { index, conversion in
            var conversion = conversion
            conversion.eventID = "cr1.\(seed)-\(index)"
            conversion.eventTime = now / 1000
            let signal = InboundSignal(
                pageID: conversion.pageID, pageScopedUserID: conversion.pageScopedUserID,
                timestampMillis: now, kind: .quickReply, mid: "m_bench-\(seed)-\(index)",
                payload: "QUALIFIED")
            return InboundDelivery(
                source: "messenger", receivedAtMillis: now,
                body: Array(#"{"object":"page","entry":[]}"#.utf8),
                items: [
                    InboundItem(
                        signal: signal, outcome: .conversion(conversion),
                        sourceKey: "mid:m_bench-\(seed)-\(index)")
                ])
        }
    }
}

/// Errors from the writer threads, kept for the report.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []

    func add(_ error: Error) { lock.withLock { errors.append(error) } }
    var first: Error? { lock.withLock { errors.first } }
}
