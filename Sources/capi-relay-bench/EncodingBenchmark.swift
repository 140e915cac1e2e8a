import Foundation
import RelayCore

/// Encoding one Conversions API request of 1,000 events, the most Meta takes in one call, next
/// to Foundation's `JSONSerialization` writing the same object.
///
/// The relay builds each request from the stored conversions at send time, so this is work
/// done on every batch, retries included.
struct EncodingBenchmark {
    var events: Int
    var rounds: Int

    func run() throws {
        let conversions = Self.conversions(count: events)
        // The peer writes the very object the relay writes, prepared outside its timing.
        let foundationObject = CAPIEventEncoder.batch(
            conversions, testEventCode: nil, partnerAgent: "capi-relay"
        ).foundationObject

        var bytes = 0
        var relay = Double.infinity
        var peer = Double.infinity
        var peerBytes = 0
        for _ in 0..<max(rounds, 1) {
            relay = min(
                relay,
                seconds {
                    bytes =
                        CAPIEventEncoder.batch(
                            conversions, testEventCode: nil, partnerAgent: "capi-relay"
                        ).serialized().count
                })
            var failure: Error?
            peer = min(
                peer,
                seconds {
                    do {
                        peerBytes = try JSONSerialization.data(withJSONObject: foundationObject)
                            .count
                    } catch { failure = error }
                })
            if let failure { throw failure }
        }

        print("encode  one CAPI request of \(events) events, best of \(rounds)")
        print(
            String(
                format: "  capi-relay          %8.2f ms  %7.0f batches/s  %6.1f MB/s  (%d bytes)",
                relay * 1e3, 1 / relay, Double(bytes) / relay / 1e6, bytes))
        print(
            String(
                format:
                    "  JSONSerialization   %8.2f ms  %7.0f batches/s  %6.1f MB/s  (%d bytes; relay %.1f× its speed)",
                peer * 1e3, 1 / peer, Double(peerBytes) / peer / 1e6, peerBytes, peer / relay))
    }

    /// Conversions as the relay stores them: hashed customer information, a referral, a
    /// value on the purchases.
    static func conversions(count: Int) -> [Conversion] {
        let normalizer = Normalizer()
        let records = BenchmarkRecords.make(count: count)
        return records.enumerated().map { index, record in
            let purchase = index % 4 == 3
            var conversion = Conversion(
                eventID: "cr1.\(String(format: "%032x", index))",
                eventName: purchase ? "Purchase" : "Lead", dataset: "880000000000001",
                pageID: "104857600000001", pageScopedUserID: "\(7_310_000_000_000_000 + index)",
                eventTime: 1_764_763_200 + Int64(index),
                customData: purchase ? ["value": .float(49.5), "currency": "USD"] : [:],
                rule: purchase ? "paid" : "qualified",
                referral: Referral(ref: "spring", source: "ADS", adID: "120200000000\(index % 50)"))
            var userData: [String: [String]] = [:]
            for (key, value) in record {
                if case .success(let hash) = normalizer.hash(key: key, value) {
                    userData[key] = [hash]
                }
            }
            conversion.userData = userData
            return conversion
        }
    }

    private func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
