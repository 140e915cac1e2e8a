import Foundation
import RelayCore
import RelayTestSupport

/// Invented Lead conversions in Messenger's shape, many to a webhook as Meta batches them,
/// each with its own page-scoped user and message id, so that every one is its own event.
enum LeadLoad {
    static let pageID = "104857600000001"
    static let dataset = "880000000000001"

    static func psid(_ index: Int) -> String { "7311" + String(format: "%012d", index) }
    static func mid(_ index: Int, tag: String) -> String { "m_\(tag)-\(index)" }

    /// The event_id the relay derives for lead `index`.
    static func eventID(_ index: Int, tag: String) -> String {
        EventID.derive(
            pageID: pageID, pageScopedUserID: psid(index), eventName: "Lead",
            anchor: "mid:\(mid(index, tag: tag))")
    }

    /// One webhook holding the leads `indices`, 30 seconds old.
    static func webhook(_ indices: Range<Int>, tag: String) -> [UInt8] {
        let now = Int64(Date().timeIntervalSince1970 * 1000) - 30_000
        let entries = indices.map { index in
            """
            {"id":"\(pageID)","time":\(now),"messaging":[{"sender":{"id":"\(psid(index))"},\
            "recipient":{"id":"\(pageID)"},"timestamp":\(now),"message":{"mid":"\(mid(index, tag: tag))",\
            "text":"yes","quick_reply":{"payload":"LEAD_GUIDE_YES"}}}]}
            """
        }
        return Array(#"{"object":"page","entry":[\#(entries.joined(separator: ","))]}"#.utf8)
    }

    /// Posts leads `0..<count` in webhooks of `perWebhook`; every one must be acknowledged.
    static func post(
        _ count: Int, perWebhook: Int, tag: String, to stack: RelayStack
    ) throws -> [String] {
        var posted: [String] = []
        for start in stride(from: 0, to: count, by: perWebhook) {
            let range = start..<min(start + perWebhook, count)
            let response = try stack.postWebhook(webhook(range, tag: tag))
            guard response.status == 200 else {
                throw TestFailure("webhook \(range) got \(response.status): \(response.body)")
            }
            posted += range.map { eventID($0, tag: tag) }
        }
        return posted
    }
}

/// Posts webhooks of leads one after another on a thread until told to stop or refused,
/// keeping which events were acknowledged (200) and which statuses came back.
final class LeadPoster: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var acknowledgedIDs: [String] = []
    /// Guarded by `lock`.
    private var statusCounts: [Int: Int] = [:]
    /// Guarded by `lock`.
    private var stopRequested = false
    private let finished = DispatchGroup()

    /// - Parameter port: read before each post, so that a restarted relay is found.
    init(
        tag: String, perWebhook: Int, port: @escaping @Sendable () -> UInt16,
        stopOnRefusal: Bool = true
    ) {
        finished.enter()
        let thread = Thread { [self] in
            var next = 0
            while !lock.withLock({ stopRequested }) {
                let range = next..<(next + perWebhook)
                next += perWebhook
                let body = LeadLoad.webhook(range, tag: tag)
                let status: Int
                do {
                    status = try RawHTTP.post(
                        port: port(), path: "/webhooks/messenger",
                        headers: [
                            "Content-Type": "application/json",
                            "X-Hub-Signature-256": MessengerFixture.signature(body),
                        ], body: body
                    ).status
                } catch {
                    status = 0  // refused or reset: the relay is gone
                }
                lock.withLock {
                    statusCounts[status, default: 0] += 1
                    if status == 200 {
                        acknowledgedIDs += range.map { LeadLoad.eventID($0, tag: tag) }
                    }
                }
                if status == 0 && stopOnRefusal { break }
                Thread.sleep(forTimeInterval: 0.005)
            }
            finished.leave()
        }
        thread.start()
    }

    /// Stops posting and waits for the post in progress.
    func stop() {
        lock.withLock { stopRequested = true }
        finished.wait()
    }

    /// Waits until the thread has ended by itself (a refused connection).
    func waitUntilRefused(timeout: Double = 30) -> Bool {
        finished.wait(timeout: .now() + timeout) == .success
    }

    var acknowledged: [String] { lock.withLock { acknowledgedIDs } }
    var statuses: [Int: Int] { lock.withLock { statusCounts } }
}
