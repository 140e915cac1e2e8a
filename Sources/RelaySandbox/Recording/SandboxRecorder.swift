import Foundation
// Glibc by name: `close` is called as `Glibc.close` because the recorder's own `close()`
// shadows it. The relay targets Linux only.
import Glibc

/// Keeps what the sandbox answered: in memory for tests and the demo, and optionally as JSON
/// Lines in a file that other processes (a test, `tail -f`) read while the sandbox runs.
///
/// Each line goes out in a single `write(2)` on a descriptor opened with `O_APPEND`, with no
/// user-space buffer in between, so a reader sees a whole line as soon as `append` returns. The
/// sandbox appends before it responds; a client that has its response can read its line.
/// Thread-safe: every member is guarded by `lock`.
public final class SandboxRecorder: @unchecked Sendable {
    /// Why the record file could not be opened or written.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var errno: Int32

        public var description: String {
            "could not \(operation) the record file \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// How many records stay in memory; older ones are dropped, the file keeps everything.
    ///
    /// A staging session can run for hours with 1,000-event batches; an unbounded array would
    /// grow without limit for a feature (`records`) that only needs the recent past.
    public static let memoryLimit = 1_000

    public let path: String?
    private let lock = NSLock()
    /// Guarded by `lock`; -1 when closed or when there is no file.
    private var descriptor: Int32 = -1
    /// Guarded by `lock`.
    private var recent: [SandboxRecord] = []

    /// Opens (creating, appending to) the record file; `path` nil records in memory only.
    public init(path: String?) throws(Failure) {
        self.path = path
        guard let path else { return }
        let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw Failure(path: path, operation: "open", errno: errno) }
        descriptor = opened
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// The records kept in memory, oldest first.
    public var records: [SandboxRecord] {
        lock.withLock { recent }
    }

    /// Writes the record's line to the file, then keeps it in memory; credentials are stripped
    /// first. On a write failure nothing is kept and the caller must answer with an error.
    public func append(_ record: SandboxRecord) throws(Failure) {
        let clean = record.redacted()
        let line = clean.jsonLine
        lock.lock()
        defer { lock.unlock() }
        if descriptor >= 0 {
            try writeAll(line)
        }
        remember(clean)
    }

    /// Keeps a record in memory without writing it, for the answer to a failed `append`: the
    /// file is what failed, so only memory can say what happened.
    public func rememberOnly(_ record: SandboxRecord) {
        lock.withLock { remember(record.redacted()) }
    }

    /// Closes the file; later appends are kept in memory only.
    public func close() {
        lock.withLock {
            if descriptor >= 0 { _ = Glibc.close(descriptor) }
            descriptor = -1
        }
    }

    /// Caller holds `lock`.
    private func remember(_ record: SandboxRecord) {
        recent.append(record)
        if recent.count > Self.memoryLimit {
            recent.removeFirst(recent.count - Self.memoryLimit)
        }
    }

    /// Caller holds `lock`. Loops because `write` may be partial or interrupted by a signal.
    private func writeAll(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBufferPointer { buffer in
                write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path ?? "", operation: "write", errno: errno)
            }
            offset += written
        }
    }
}
