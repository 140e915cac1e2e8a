import Foundation
import RelayCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP response from a destination.
public struct OutboundResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A request that got no HTTP response.
public struct TransportFailure: Error, Sendable, Equatable {
    public var timedOut: Bool
    /// What went wrong, without the URL's query (which holds the access token).
    public var message: String
}

/// Sends one POST and waits for the answer. Delivery threads block on it by design: each
/// destination has its own thread, so a slow destination stalls only itself.
public protocol OutboundHTTP: Sendable {
    func post(
        url: URL, headers: [String: String], body: [UInt8], timeoutSeconds: Double
    ) -> Result<OutboundResponse, TransportFailure>
}

/// `OutboundHTTP` on Foundation's URLSession, which keeps connections alive between batches.
public final class URLSessionTransport: OutboundHTTP, @unchecked Sendable {
    private let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpAdditionalHeaders = ["User-Agent": "capi-relay/\(RelayVersion.current)"]
        // Answers arrive on a serial queue of the session's own. Foundation's default
        // delegate queue runs on the shared dispatch pool, as wide as the machine has cores,
        // and threads blocked there (a delivery lane waiting for its answer, a stop waiting
        // for the lanes) left answers that had arrived undelivered until their deadline: the
        // batch was then retried, and Meta got it twice.
        let answers = OperationQueue()
        answers.name = "capi-relay-outbound"
        answers.underlyingQueue = DispatchQueue(label: "capi-relay-outbound")
        session = URLSession(configuration: configuration, delegate: nil, delegateQueue: answers)
    }

    deinit {
        session.invalidateAndCancel()
    }

    public func post(
        url: URL, headers: [String: String], body: [UInt8], timeoutSeconds: Double
    ) -> Result<OutboundResponse, TransportFailure> {
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        for (name, value) in headers {
            request.setValue(value, forHTTPHeaderField: name)
        }

        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                let timedOut = (error as? URLError)?.code == .timedOut
                box.result = .failure(
                    TransportFailure(timedOut: timedOut, message: Self.describe(error)))
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (name, value) in http.allHeaderFields {
                    headers[String(describing: name).lowercased()] = String(describing: value)
                }
                box.result = .success(
                    OutboundResponse(
                        status: http.statusCode, headers: headers, body: Array(data ?? Data())))
            } else {
                box.result = .failure(
                    TransportFailure(timedOut: false, message: "no HTTP response"))
            }
            done.signal()
        }
        task.resume()
        // The deadline is kept here: URLSession's own timeout is one of inactivity, and on
        // Linux it did not end a request whose server never answered. Everything built on a
        // request's length (backoff, the shutdown deadline, a shared journal's leases) needs
        // this bound to hold.
        guard done.wait(timeout: .now() + timeoutSeconds) == .success else {
            task.cancel()
            return .failure(
                TransportFailure(
                    timedOut: true,
                    message: "timed out after \(Self.seconds(timeoutSeconds)) s without an answer"))
        }
        return box.result ?? .failure(TransportFailure(timedOut: false, message: "no result"))
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// The error without its URL: URLError descriptions quote the URL, and CAPI URLs carry
    /// the access token in the query.
    private static func describe(_ error: Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .timedOut: return "timed out"
            case .cannotConnectToHost: return "connection refused"
            case .cannotFindHost: return "host not found"
            case .networkConnectionLost: return "connection lost"
            case .notConnectedToInternet: return "network unreachable"
            default: return "transport error \(urlError.code.rawValue)"
            }
        }
        return "transport error"
    }
}

/// The completion handler's result, read after it signals; guarded by its lock, since a
/// request cancelled at its deadline may still complete while the caller has moved on.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Result<OutboundResponse, TransportFailure>?

    var result: Result<OutboundResponse, TransportFailure>? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
