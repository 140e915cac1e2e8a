/// Picks the declared name a mistyped word most likely meant: for options here, and for
/// config keys in `config check`.
public enum Suggestion {
    /// The candidate nearest to `typed`, or `nil` when none is near enough to be a fair guess.
    ///
    /// A candidate qualifies when `typed` begins it (`--li` for `--listen`) or lies within two
    /// edits of it, counting a swap of neighbours as one edit (`--lsiten`). The nearest wins and
    /// ties go to the first declared, so the answer is stable. Two edits on a two-letter word
    /// would make anything a match, so the distance must also be less than the typed length.
    public static func closest(to typed: String, among candidates: [String]) -> String? {
        guard !typed.isEmpty else {
            return nil
        }

        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = Self.distance(typed, candidate)
            let isNear = distance <= 2 && distance < typed.count
            guard isNear || candidate.hasPrefix(typed) else {
                continue
            }
            // Strictly less, so that among equals the first declared stays.
            if distance < best?.distance ?? Int.max {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Damerau–Levenshtein distance in its optimal-string-alignment form: insertions,
    /// deletions, substitutions and swaps of adjacent characters each cost one.
    static func distance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }

        // Full table rather than two rows: the swap rule looks two rows back, and names are short.
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(
                    table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
