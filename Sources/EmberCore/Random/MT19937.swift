/// The MT19937 engine of PyTorch's CPU generator (`at::mt19937`, `ATen/core/MT19937RNGEngine.h`).
///
/// It is the standard Mersenne Twister (N=624, M=397, `MATRIX_A = 0x9908B0DF`), seeded with
/// `init_genrand(seed & 0xFFFFFFFF)`; see `docs/torch-rng.md` §1.1–§1.2. The 624 state words live
/// in memory owned by ``Generator`` so that bulk draws run on a raw pointer without copy-on-write
/// or exclusivity checks in the hot loop.
@usableFromInline
enum MT19937 {
    @usableFromInline static let stateSize = 624
    static let shift = 397
    static let matrixA: UInt32 = 0x9908_B0DF

    /// Writes the initial state for `seed32` (`init_with_uint32`).
    static func seed(_ words: UnsafeMutablePointer<UInt32>, _ seed32: UInt32) {
        words[0] = seed32
        for j in 1..<stateSize {
            let previous = words[j - 1]
            words[j] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(j)
        }
    }

    /// Regenerates all 624 words in place. Sequential on purpose: for i >= 227 the recurrence
    /// reads words already regenerated in this pass, exactly as the C++ engine does.
    @usableFromInline
    static func twist(_ words: UnsafeMutablePointer<UInt32>) {
        // Split at the wrap-arounds of (i + 1) and (i + 397) so the loops have no modulo.
        @inline(__always) func mix(_ i: Int, _ nextWord: UInt32, _ far: UInt32) {
            let y = (words[i] & 0x8000_0000) | (nextWord & 0x7FFF_FFFF)
            words[i] = far ^ (y >> 1) ^ ((nextWord & 1) &* matrixA)
        }
        let wrap = stateSize - shift  // 227
        for i in 0..<wrap { mix(i, words[i + 1], words[i + shift]) }
        for i in wrap..<(stateSize - 1) { mix(i, words[i + 1], words[i - wrap]) }
        mix(stateSize - 1, words[0], words[shift - 1])
    }

    /// The MT19937 output ("tempering") transform of one state word.
    @inlinable @inline(__always)
    static func temper(_ word: UInt32) -> UInt32 {
        var y = word
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }
}
