import Foundation

/// A connection the group-commit writer runs its transactions on: SQLite's or PostgreSQL's.
protocol TransactionalDatabase: AnyObject {
    /// Runs SQL that returns no rows.
    func execute(_ sql: String) throws
    /// Runs one statement that returns no rows and comes again often (SAVEPOINT, RELEASE,
    /// COMMIT): SQLite keeps it prepared instead of parsing it each time.
    func executeRepeated(_ sql: String) throws
    /// Opens the batch's transaction: SQLite takes the write lock at once (`BEGIN IMMEDIATE`),
    /// PostgreSQL needs only `BEGIN`, its row locks and constraints doing the rest.
    func beginTransaction() throws
    /// Lets go of cursors that could make COMMIT or ROLLBACK fail (SQLite's cached statements).
    func resetStatements()
    var isInTransaction: Bool { get }
    /// Whether an error means that the transaction lost a race with another writer (a deadlock
    /// or serialization failure between relays) and would succeed run again from the start.
    func isRetryable(_ error: Error) -> Bool
}

extension SQLiteDatabase: TransactionalDatabase {
    func beginTransaction() throws { try executeRepeated("BEGIN IMMEDIATE") }

    func executeRepeated(_ sql: String) throws { try statement(sql).run() }

    /// One writer holds the file's lock: a SQLite transaction never loses a race to retry.
    func isRetryable(_ error: Error) -> Bool { false }
}

/// Runs write jobs on one thread, many jobs to a transaction.
///
/// Durable acknowledgement needs an fsync per commit; with one commit per webhook the disk's
/// sync rate would cap intake. Jobs that arrive while a commit is in progress wait and share
/// the next one, so the cost of an fsync is spread over everything queued behind it. One job's
/// error fails that job alone: when a job fails, the batch is rolled back and run again with
/// each job in a savepoint of its own.
///
/// So is a batch whose transaction lost a race with another relay's writer (a deadlock
/// between two batches, both deciding the same keys): it is rolled back and run again from its
/// first job. Jobs must therefore only write to the database and to boxes they own, which a
/// second run overwrites.
///
/// What a job's caller does once its commit is known (answer the webhook, publish to the feed)
/// runs on a completion thread of its own, in commit order, while the writer goes on to the
/// next transaction: the writer is the one thread every webhook waits for.
final class GroupCommitWriter<Database: TransactionalDatabase>: @unchecked Sendable {
    typealias Work = (Database) throws -> Void
    typealias Done = GroupCompletion

    private struct Job {
        var work: Work
        var done: Done
        /// Run `done` on the writer thread itself: for a caller blocked waiting on it, whose
        /// `done` only wakes it.
        var inline = false
    }

    /// The most jobs one transaction takes, so that one huge queue cannot delay every
    /// acknowledgement behind it by a very long commit.
    static var maxJobsPerCommit: Int { 512 }

    /// How many times a batch that lost a race runs again before its jobs fail.
    static var maxRetries: Int { 8 }

    private let database: Database
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var queue: [Job] = []
    /// Guarded by `condition`.
    private var closing = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Where `done` runs for jobs not inline, one batch after another.
    private let completions = CompletionThread()
    /// Guarded by `condition`.
    private var commits = 0

    init(database: Database) {
        self.database = database
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "journal-writer"
        self.thread = thread
        thread.start()
    }

    /// Queues a job; `done` runs after the commit, with nil on success, on the completion
    /// thread (or, `inline`, on the writer thread).
    func submit(_ work: @escaping Work, inline: Bool = false, done: @escaping Done) {
        condition.lock()
        guard !closing else {
            condition.unlock()
            done(JournalError(.closed, "the journal is closed"))
            return
        }
        queue.append(Job(work: work, done: done, inline: inline))
        condition.signal()
        condition.unlock()
    }

    /// Whether an empty transaction can begin and commit within `timeoutSeconds`: the write
    /// probe of `/readyz`. It queues behind whatever is waiting, as an append would, so it
    /// proves the writer is alive and not stuck behind a hung commit; it writes no row, so it
    /// cannot prove the disk has room (a failed append reports that).
    /// - Returns: nil when writable, else why not.
    func probe(timeoutSeconds: Double) -> JournalError? {
        let answered = DispatchSemaphore(value: 0)
        let outcome = ProbeOutcome()
        submit({ _ in }, inline: true) { error in
            outcome.set(error)
            answered.signal()
        }
        guard answered.wait(timeout: .now() + timeoutSeconds) == .success else {
            return JournalError(
                .commitFailed, "the journal writer did not answer within \(timeoutSeconds) s")
        }
        guard let error = outcome.error else { return nil }
        return error as? JournalError ?? JournalError(.commitFailed, "\(error)")
    }

    /// Runs a job and waits for its commit.
    func submitAndWait(_ work: @escaping Work) throws {
        let completion = Completion<ErrorBox>()
        submit(work, inline: true) { completion.finish(ErrorBox(error: $0)) }
        if let error = completion.wait().error { throw error }
    }

    /// Transactions committed so far; with concurrent submitters, fewer than the jobs.
    var transactionsCommitted: Int {
        condition.lock()
        defer { condition.unlock() }
        return commits
    }

    /// Commits what is queued and runs its completions, then stops the thread.
    func close() {
        condition.lock()
        let wasClosing = closing
        closing = true
        condition.signal()
        condition.unlock()
        if !wasClosing { finished.wait() }
        completions.close()
    }

    private func run() {
        while let jobs = nextJobs() {
            commit(jobs)
        }
        finished.signal()
    }

    /// Blocks until there is work; nil once closing and drained.
    private func nextJobs() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !closing {
            condition.wait()
        }
        if queue.isEmpty { return nil }
        let count = min(queue.count, GroupCommitWriter.maxJobsPerCommit)
        let jobs = Array(queue.prefix(count))
        queue.removeFirst(count)
        return jobs
    }

    private func commit(_ jobs: [Job]) {
        var attempt = 0
        // Jobs run bare first: a savepoint each costs two statements and a copy of every page
        // the job changes, and a job almost never fails. When one does, the batch runs again
        // with a savepoint per job, so that the others still commit.
        var isolated = false
        var failedAlone: [Int: Error] = [:]
        while true {
            switch commitOnce(jobs, isolated: isolated, failedAlone: failedAlone) {
            case .committed(let errors):
                finish(jobs, errors)
                return
            case .jobFailed(let error) where jobs.count == 1:
                // Nothing else was in the transaction: its failure is the job's own.
                finish(jobs, [error])
                return
            case .jobFailed:
                isolated = true
            case .transactionUndone(let index, let error):
                // The job took the jobs before it down with it: run them again without it.
                failedAlone[index] = error
                isolated = true
            case .lostRace where attempt < Self.maxRetries:
                // The other writer goes on once this one has rolled back; a short, growing
                // pause keeps two relays from meeting on the same keys again at once.
                attempt += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.005) * Double(attempt))
            case .lostRace(let error), .failed(let error):
                // The whole transaction is gone: every job in it failed, whatever it did alone.
                let failure = JournalError(.commitFailed, "journal commit failed: \(error)")
                finish(jobs, jobs.map { _ in failure })
                return
            }
        }
    }

    private func finish(_ jobs: [Job], _ errors: [Error?]) {
        var later: [(Done, ErrorBox)] = []
        for (job, error) in zip(jobs, errors) {
            if job.inline {
                job.done(error)
            } else {
                later.append((job.done, ErrorBox(error: error)))
            }
        }
        guard !later.isEmpty else { return }
        completions.run(later)
    }

    private enum BatchOutcome {
        /// Committed; each job's own error, nil for those that succeeded.
        case committed([Error?])
        /// A job run without a savepoint failed, and the transaction was rolled back.
        case jobFailed(Error)
        /// The job at this index failed and ended the whole transaction with it (SQLite's
        /// `RAISE(ROLLBACK)` in a trigger does), savepoints and all.
        case transactionUndone(Int, Error)
        /// Rolled back because another writer won a race: the batch may run again.
        case lostRace(Error)
        case failed(Error)
    }

    /// Runs the jobs in one transaction, each in a savepoint of its own when `isolated`, and
    /// commits; the jobs in `failedAlone` are not run again, and keep their error.
    private func commitOnce(
        _ jobs: [Job], isolated: Bool, failedAlone: [Int: Error]
    ) -> BatchOutcome {
        var errors = [Error?](repeating: nil, count: jobs.count)
        do {
            try database.beginTransaction()
            for (index, job) in jobs.enumerated() {
                if let error = failedAlone[index] {
                    errors[index] = error
                } else if isolated {
                    errors[index] = runInSavepoint(job.work)
                    if let error = errors[index], !database.isInTransaction {
                        abandonTransaction()
                        return .transactionUndone(index, error)
                    }
                } else {
                    do {
                        try job.work(database)
                    } catch {
                        abandonTransaction()
                        return database.isRetryable(error) ? .lostRace(error) : .jobFailed(error)
                    }
                }
                // A job that lost a race rolled back to its savepoint, but the locks the jobs
                // before it hold are what the other writer waits for: start the batch over.
                if let error = errors[index], database.isRetryable(error) {
                    abandonTransaction()
                    return .lostRace(error)
                }
            }
            database.resetStatements()
            try database.executeRepeated("COMMIT")
            condition.lock()
            commits += 1
            condition.unlock()
            return .committed(errors)
        } catch {
            abandonTransaction()
            return database.isRetryable(error) ? .lostRace(error) : .failed(error)
        }
    }

    /// Rolls back whatever is open, so that one failure cannot leave the connection inside a
    /// transaction where every later BEGIN would fail too.
    private func abandonTransaction() {
        database.resetStatements()
        if database.isInTransaction {
            try? database.execute("ROLLBACK")
        }
    }

    private func runInSavepoint(_ work: Work) -> Error? {
        do {
            try database.executeRepeated("SAVEPOINT job")
            do {
                try work(database)
                try database.executeRepeated("RELEASE job")
                return nil
            } catch {
                database.resetStatements()
                try database.execute("ROLLBACK TO job")
                try database.execute("RELEASE job")
                return error
            }
        } catch {
            return error
        }
    }
}

/// The thread that runs completions, in the order their batches committed.
///
/// A thread of its own rather than a dispatch queue: the shared dispatch pool is only as wide
/// as the machine has cores, and with threads blocked there the answers to webhooks would wait.
private final class CompletionThread: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var batches: [[(GroupCompletion, ErrorBox)]] = []
    /// Guarded by `condition`.
    private var closing = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    init() {
        // Held by its thread until `close`: a journal closed and let go from inside one of
        // its completions must outlive that completion.
        let thread = Thread { [self] in self.loop() }
        thread.name = "journal-completions"
        self.thread = thread
        thread.start()
    }

    func run(_ batch: [(GroupCompletion, ErrorBox)]) {
        condition.lock()
        batches.append(batch)
        condition.signal()
        condition.unlock()
    }

    /// Runs what is queued, then stops the thread. Called from a completion (the last
    /// reference to a journal can go with a completion closure), it does not wait for
    /// itself: the thread stops once the completion returns.
    func close() {
        condition.lock()
        let wasClosing = closing
        closing = true
        condition.signal()
        condition.unlock()
        if !wasClosing && Thread.current !== thread { finished.wait() }
    }

    private func loop() {
        while let batch = next() {
            for (done, box) in batch { done(box.error) }
        }
        finished.signal()
    }

    private func next() -> [(GroupCompletion, ErrorBox)]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !closing { condition.wait() }
        if batches.isEmpty { return nil }
        return batches.removeFirst()
    }
}

/// What a job's caller hears once its commit is known: nil, or why it failed.
typealias GroupCompletion = @Sendable (Error?) -> Void

/// An optional error that can cross threads inside a `Completion`.
struct ErrorBox: @unchecked Sendable {
    var error: Error?
}

/// Carries a write probe's answer from the writer thread; guarded by its lock.
private final class ProbeOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?

    func set(_ error: Error?) { lock.withLock { stored = error } }
    var error: Error? { lock.withLock { stored } }
}
