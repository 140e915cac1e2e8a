import Foundation
import RelayCore
import RelayHTTP

/// What the fault plan does with one request.
enum FaultDecision: Sendable, Equatable {
    /// Serve it normally, after `latencyMs`; a CAPI batch with an event whose id matches
    /// `rejectEventIDs` is rejected.
    case pass(latencyMs: Int, rejectEventIDs: String?)
    /// Answer with this error instead of serving the request; `fault` names why for the record.
    case fail(
        status: Int, code: Int?, subcode: Int?, message: String?, retryAfter: Double?,
        fault: String, latencyMs: Int)
    /// Hold the request for `afterMs`, then answer 504; nothing is accepted.
    case timeout(afterMs: Int)
}

/// The sandbox's fault plan at runtime: the faults, when they were set, and a seeded random
/// source. Thread-safe; `decide` is called from the event-loop threads.
final class FaultInjector: @unchecked Sendable {
    private let lock = NSLock()
    /// Guarded by `lock`.
    private var faults: SandboxFaults
    /// Guarded by `lock`: Unix seconds when the faults were set; outages count from here.
    private var origin: Double
    /// Guarded by `lock`.
    private var random: SplitMix64

    init(_ faults: SandboxFaults, now: Double) {
        self.faults = faults
        origin = now
        random = SplitMix64(seed: faults.seed ?? UInt64(now * 1000))
    }

    var current: SandboxFaults { lock.withLock { faults } }

    func replace(_ faults: SandboxFaults, now: Double) {
        lock.withLock {
            self.faults = faults
            origin = now
            random = SplitMix64(seed: faults.seed ?? UInt64(now * 1000))
        }
    }

    /// Decides for one request to the CAPI or CRM stand-in at `now` (Unix seconds).
    func decide(crm: Bool, now: Double) -> FaultDecision {
        lock.withLock {
            let target = crm ? faults.crm : faults.capi
            let elapsed = now - origin
            if let outage = target.outages.first(where: {
                $0.fromSeconds <= elapsed && elapsed < $0.toSeconds
            }) {
                return .fail(
                    status: outage.status, code: outage.code, subcode: nil, message: nil,
                    retryAfter: nil, fault: "outage", latencyMs: target.latencyMs)
            }
            if target.timeoutRate > 0, random.unit() < target.timeoutRate {
                return .timeout(afterMs: target.timeoutMs)
            }
            if !target.errors.isEmpty {
                let draw = random.unit()
                var threshold = 0.0
                for rule in target.errors {
                    threshold += rule.rate
                    if draw < threshold {
                        return .fail(
                            status: rule.status, code: rule.code, subcode: rule.subcode,
                            message: rule.message, retryAfter: rule.retryAfterSeconds,
                            fault: "error", latencyMs: target.latencyMs)
                    }
                }
            }
            return .pass(latencyMs: target.latencyMs, rejectEventIDs: target.rejectEventIDs)
        }
    }

    /// Graph's message for the codes a fault plan usually picks.
    static func graphMessage(code: Int) -> String {
        switch code {
        case 1: "An unknown error occurred"
        case 2: "Service temporarily unavailable"
        case 4: "Application request limit reached"
        case 17: "User request limit reached"
        case 32: "Page request limit reached"
        case 341: "Application limit reached"
        case 613: "Calls to this api have exceeded the rate limit."
        case 190: "Invalid OAuth access token."
        case 100: "Invalid parameter"
        default: "Sandbox fault"
        }
    }
}

/// A small, seedable generator (SplitMix64), so that a fault plan with a seed repeats.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
