/// SHA-256 of every one- and two-letter lowercase value, computed once at first use.
///
/// Country codes, US and Canadian state codes and the gender letters `f` and `m` all have this
/// shape, and they are three of the ten identifiers of a full record: looking their hashes up
/// costs a fraction of hashing them again on every event. The table is a cache of
/// ``Crypto/sha256Hex(_:)-(String)`` over all 702 such strings, not a list of known answers, so
/// it holds for any field whose value normalizes to one or two letters.
enum ShortValueHashes {
    /// Index 0 is unused; a letter `x` alone is `27 × (x − a + 1)`, a pair `xy` adds `y − a + 1`.
    private static let table: [String] = {
        var hashes = [String](repeating: "", count: 27 * 27)
        let letters = Array(UInt8(ascii: "a")...UInt8(ascii: "z"))
        for first in letters {
            hashes[index(first, nil)] = Crypto.sha256Hex([first])
            for second in letters {
                hashes[index(first, second)] = Crypto.sha256Hex([first, second])
            }
        }
        return hashes
    }()

    private static func index(_ first: UInt8, _ second: UInt8?) -> Int {
        let firstPosition = Int(first - UInt8(ascii: "a")) + 1
        let secondPosition = second.map { Int($0 - UInt8(ascii: "a")) + 1 } ?? 0
        return 27 * firstPosition + secondPosition
    }

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
    }

    /// The hash of one or two lowercase ASCII letters; nil for any other value.
    static func hash(of value: UnsafeBufferPointer<UInt8>) -> String? {
        switch value.count {
        case 1 where isLowercaseLetter(value[0]):
            return table[index(value[0], nil)]
        case 2 where isLowercaseLetter(value[0]) && isLowercaseLetter(value[1]):
            return table[index(value[0], value[1])]
        default:
            return nil
        }
    }
}
