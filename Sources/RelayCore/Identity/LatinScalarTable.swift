import Foundation

/// What the normalizer's byte-level path needs to know about each Unicode scalar below U+0300:
/// ASCII, Latin-1 and Latin Extended-A/B, which covers nearly every name, city and address a
/// Latin-script form or CRM sends.
///
/// Every entry is derived once, at first use, from the same Unicode properties and Foundation
/// folding the general (String-based) path uses, so the two paths cannot disagree by
/// construction; `NormalizerFastPathTests` checks them against each other on generated input.
/// No scalar below U+0300 combines canonically with another below U+0300, so text made only of
/// them is already NFC, before and after lowercasing: the byte path needs no NFC step.
///
/// The entries live in memory that is allocated once and never freed, rather than in arrays:
/// the table is read several times per scalar, and copying a struct of arrays into each call
/// cost a retain and release per array.
struct LatinScalarTable: @unchecked Sendable {
    /// Scalars below this are covered; their UTF-8 is one byte, or two with a lead byte below
    /// 0xCC.
    static let limit: UInt32 = 0x300

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let whitespace = Flags(rawValue: 1)
        /// ``Normalizer/isLetterOrMark(_:)``, of the lowercased scalar.
        static let letterOrMark = Flags(rawValue: 2)
        /// Has a Unicode numeric type, of the lowercased scalar.
        static let numeric = Flags(rawValue: 4)
        /// `Character.isLetter` and `Character.isNumber`, of the lowercased scalar: what an
        /// email address may hold besides ASCII. Below U+0300 every scalar is a Character.
        static let letter = Flags(rawValue: 16)
        static let number = Flags(rawValue: 32)
        /// The scalar's lowercase form is one scalar below ``limit`` and its folded key is at
        /// most three letters; otherwise text holding it takes the general path (`İ`, whose
        /// lowercase is two scalars, is one).
        static let supported = Flags(rawValue: 8)
        /// A symbol an email address's unquoted local part may hold besides letters, digits
        /// and dots (``Normalizer/atomSymbols``); all of them are ASCII.
        static let atomSymbol = Flags(rawValue: 64)

        /// Whether any of `flags` is set: one AND, where `OptionSet`'s generic `contains` and
        /// `isDisjoint` went through protocol witnesses on every scalar.
        @inline(__always)
        func hasAny(_ flags: Flags) -> Bool { rawValue & flags.rawValue != 0 }
    }

    /// Lowercase form of each scalar.
    let lowercase: UnsafePointer<UInt16>
    /// Flags of each scalar (whitespace is of the scalar itself, the classes of its lowercase).
    let flags: UnsafePointer<Flags>
    /// The scalar's contribution to a folded lookup key (``CountryTable/foldedKey(_:)``): up to
    /// three letters a–z in the low bytes, their count in the top byte.
    let fold: UnsafePointer<UInt32>

    static let shared = LatinScalarTable()

    private init() {
        var lowercase = [UInt16](repeating: 0, count: Int(Self.limit))
        var flags = [Flags](repeating: [], count: Int(Self.limit))
        var fold = [UInt32](repeating: 0, count: Int(Self.limit))
        for value in 0..<Self.limit {
            guard let scalar = Unicode.Scalar(value) else { continue }
            var entry: Flags = []
            if scalar.properties.isWhitespace { entry.insert(.whitespace) }
            if Normalizer.atomSymbols.contains(Character(scalar)) { entry.insert(.atomSymbol) }

            let lowered = String(scalar).lowercased().unicodeScalars
            let folded = CountryTable.foldedKey(String(scalar)).utf8
            if lowered.count == 1, let lower = lowered.first, lower.value < Self.limit,
                folded.count <= 3
            {
                entry.insert(.supported)
                lowercase[Int(value)] = UInt16(lower.value)
                if Normalizer.isLetterOrMark(lower) { entry.insert(.letterOrMark) }
                if lower.properties.numericType != nil { entry.insert(.numeric) }
                if Character(lower).isLetter { entry.insert(.letter) }
                if Character(lower).isNumber { entry.insert(.number) }
                var packed = UInt32(folded.count) << 24
                for (index, byte) in folded.enumerated() {
                    packed |= UInt32(byte) << (8 * UInt32(index))
                }
                fold[Int(value)] = packed
            }
            flags[Int(value)] = entry
        }
        self.lowercase = Self.immortal(lowercase)
        self.flags = Self.immortal(flags)
        self.fold = Self.immortal(fold)
    }

    /// A copy of the array in memory that lives as long as the process.
    private static func immortal<Element>(_ array: [Element]) -> UnsafePointer<Element> {
        let storage = UnsafeMutablePointer<Element>.allocate(capacity: array.count)
        storage.initialize(from: array, count: array.count)
        return UnsafePointer(storage)
    }
}
