import RelayCore

/// Realistic, invented customer records: mixed case, stray spaces, punctuation and formats, as
/// they come out of chats and CRMs. Seeded, so every run (and the Python peer) sees the same.
enum BenchmarkRecords {
    static let fields = ["em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country"]

    static func make(count: Int) -> [[String: String]] {
        let first = ["Mary", "José", "Renée", "Jean-Luc", "O'Neil", "Zoë", "Ana María", "Kim"]
        let last = ["Smith", "García", "Dupont", "Müller", "O'Brien", "Nguyen", "Kowalski"]
        let domains = ["Example.com", "mail.example.org", "EXAMPLE.net"]
        let cities = ["Menlo Park", "São Paulo", "St. Louis", "New York", "Köln", "Paris"]
        let states = ["CA", "California", "N.Y.", "Texas", "Bavaria", "Île-de-France"]
        let zips = ["94025-1234", " 10001", "M1 1AE", "75018", "50667", "NR9 5AL"]
        let countries = ["US", "United States", "usa", "Germany", "FR", "United Kingdom"]
        let genders = ["Female", "M", "male", "f", "Woman", "F"]
        let dates = ["1997-02-16", "02/16/1997", "16.02.1997", "19970216", "Feb 16, 1997"]
        let phones = [
            "+1 (650) 555-1212", "+44 20 7946 0000", "+49 30 1234567", "+33 1 23 45 67 89",
        ]

        var records: [[String: String]] = []
        records.reserveCapacity(count)
        var state: UInt64 = 0x5EED
        func pick(_ list: [String]) -> String {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return list[Int((state >> 33) % UInt64(list.count))]
        }
        for index in 0..<count {
            let given = pick(first)
            let family = pick(last)
            records.append([
                "em": "  \(given.prefix(3)).\(family)\(index)@\(pick(domains)) ",
                "ph": pick(phones),
                "fn": given, "ln": family, "ge": pick(genders), "db": pick(dates),
                "ct": pick(cities), "st": pick(states), "zp": pick(zips),
                "country": pick(countries),
            ])
        }
        return records
    }

    /// The records as JSON, for the Python peer.
    static func json(_ records: [[String: String]]) -> [UInt8] {
        JSONValue.array(
            records.map { record in
                .object(record.mapValues { .string($0) })
            }
        ).serialized()
    }
}
