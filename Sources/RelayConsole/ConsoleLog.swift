import Foundation
import RelayCore

/// The console's own log file. The console never logs to stderr: curses owns the terminal.
struct ConsoleLog {
    let path: String
    let descriptor: Int32
    let logger: Logger

    static func defaultPath() -> String { "/tmp/capi-relay-console-\(getuid()).log" }

    /// Opens (appending) or creates the log, readable by its owner only: it names event ids.
    init(path: String) throws(FeedClient.Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw FeedClient.Failure(
                description: "cannot open the console log '\(path)': "
                    + String(cString: strerror(errno)) + "; pass --log FILE to choose another")
        }
        self.path = path
        descriptor = fd
        logger = Logger(level: .debug) { level, message, metadata in
            let line = Logger.logfmt(
                time: Date(), level: level, message: message, metadata: metadata)
            _ = (line + "\n").utf8CString.withUnsafeBufferPointer {
                write(fd, $0.baseAddress, $0.count - 1)
            }
        }
    }
}
