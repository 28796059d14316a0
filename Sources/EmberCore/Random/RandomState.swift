/// numpy's legacy `numpy.random.RandomState(seed)` — the generator pandas' `sample(…, random_state=seed)`
/// uses — for the draws the book's data preparation makes: ``permutation(_:)`` and
/// ``choice(_:size:)`` without replacement (chapter 6 §6.2, `create_balanced_dataset` and `random_split`).
///
/// An integer seed goes through `init_genrand(seed)`, so the 32-bit stream is the one of
/// `torch.manual_seed(seed)` (``Generator``'s MT19937): for seed 123 it starts 2991312382,
/// 3062119789, 1228959102, 1840268610. Source: numpy `numpy/random/_mt19937.pyx` (`_legacy_seeding`),
/// `numpy/random/mtrand.pyx` (`permutation`, `shuffle`, `choice`) and
/// `numpy/random/src/distributions/distributions.c` (`random_interval`).
public final class RandomState: @unchecked Sendable {
    private let engine: Generator

    /// `RandomState(seed)` for an integer seed in `0 ..< 2^32` (numpy raises `ValueError` for others;
    /// the type rules them out).
    public init(seed: UInt32) {
        engine = Generator(seed: UInt64(seed))
    }

    /// The next raw 32-bit output of MT19937 (`next_uint32`).
    public func nextUInt32() -> UInt32 { engine.random() }

    /// A uniform integer in `0...max` (`random_interval`): `mask` = the smallest `2^k − 1 ≥ max`,
    /// then 32-bit draws masked until one is `≤ max` (rejection sampling, no modulo bias).
    /// - Parameter max: inclusive upper bound, `0 ... UInt32.max` (0 draws nothing).
    public func randomInterval(_ max: UInt32) -> UInt32 {
        guard max > 0 else { return 0 }
        var mask = max
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        while true {
            let value = engine.random() & mask
            if value <= max { return value }
        }
    }

    /// `permutation(n)`: `arange(n)` shuffled in place by the legacy Fisher–Yates loop, for
    /// `i = n−1` down to 1: `j = random_interval(i)`, swap `a[i]` and `a[j]`.
    /// - Parameter n: length, `0 ... UInt32.max + 1` (negative counts give an empty array).
    public func permutation(_ n: Int) -> [Int] {
        guard n > 1 else { return Array(0..<Swift.max(0, n)) }
        var a = Array(0..<n)
        for i in stride(from: n - 1, through: 1, by: -1) {
            let j = Int(randomInterval(UInt32(i)))
            a.swapAt(i, j)
        }
        return a
    }

    /// `choice(n, size, replace=False)` with uniform weights: the first `size` entries of
    /// ``permutation(_:)`` (so it draws the whole permutation, as numpy does).
    /// - Throws: ``RandomError/invalidArgument(_:)`` with numpy's message when `size > n` or `size < 0`.
    public func choice(_ n: Int, size: Int) throws(RandomError) -> [Int] {
        guard size >= 0 else { throw .invalidArgument("negative dimensions are not allowed") }
        guard size <= n else {
            throw .invalidArgument("Cannot take a larger sample than population when 'replace=False'")
        }
        return Array(permutation(n).prefix(size))
    }
}
