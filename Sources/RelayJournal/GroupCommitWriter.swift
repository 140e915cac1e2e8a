import Foundation

/// Runs write jobs on one thread, many jobs to a transaction.
///
/// Durable acknowledgement needs an fsync per commit; with one commit per webhook the disk's
/// sync rate would cap intake. Jobs that arrive while a commit is in progress wait and share
/// the next one, so the cost of an fsync is spread over everything queued behind it. Each job
/// runs inside its own savepoint, so one job's error rolls back that job alone.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Work = (SQLiteDatabase) throws -> Void
    typealias Done = @Sendable (Error?) -> Void

    private struct Job {
        var work: Work
        var done: Done
    }

    /// The most jobs one transaction takes, so that one huge queue cannot delay every
    /// acknowledgement behind it by a very long commit.
    static let maxJobsPerCommit = 512

    private let database: SQLiteDatabase
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var queue: [Job] = []
    /// Guarded by `condition`.
    private var closing = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Guarded by `condition`.
    private var commits = 0

    init(database: SQLiteDatabase) {
        self.database = database
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "journal-writer"
        self.thread = thread
        thread.start()
    }

    /// Queues a job; `done` runs on the writer thread after the commit, with nil on success.
    func submit(_ work: @escaping Work, done: @escaping Done) {
        condition.lock()
        guard !closing else {
            condition.unlock()
            done(JournalError(.closed, "the journal is closed"))
            return
        }
        queue.append(Job(work: work, done: done))
        condition.signal()
        condition.unlock()
    }

    /// Runs a job and waits for its commit.
    func submitAndWait(_ work: @escaping Work) throws {
        let completion = Completion<ErrorBox>()
        submit(work) { completion.finish(ErrorBox(error: $0)) }
        if let error = completion.wait().error { throw error }
    }

    /// Transactions committed so far; with concurrent submitters, fewer than the jobs.
    var transactionsCommitted: Int {
        condition.lock()
        defer { condition.unlock() }
        return commits
    }

    /// Commits what is queued, then stops the thread.
    func close() {
        condition.lock()
        let wasClosing = closing
        closing = true
        condition.signal()
        condition.unlock()
        if !wasClosing { finished.wait() }
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
        var errors = [Error?](repeating: nil, count: jobs.count)
        do {
            try database.execute("BEGIN IMMEDIATE")
            for (index, job) in jobs.enumerated() {
                errors[index] = runInSavepoint(job.work)
            }
            database.resetStatements()
            try database.execute("COMMIT")
            condition.lock()
            commits += 1
            condition.unlock()
        } catch {
            // The whole transaction is gone: every job in it failed, whatever it did alone.
            abandonTransaction()
            let failure = JournalError(.commitFailed, "journal commit failed: \(error)")
            for job in jobs { job.done(failure) }
            return
        }
        for (job, error) in zip(jobs, errors) { job.done(error) }
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
            try database.execute("SAVEPOINT job")
            do {
                try work(database)
                try database.execute("RELEASE job")
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

/// An optional error that can cross threads inside a `Completion`.
struct ErrorBox: @unchecked Sendable {
    var error: Error?
}
