/// Lane-wise `fmaf(a, b, c)` for 8 floats, correctly rounded, without an FMA instruction.
///
/// Why: PyTorch's AVX2 kernels fuse multiply-adds (`docs/torch-rng.md` §3, §5.3), so bit
/// exactness needs `fmaf`. Swift on baseline x86-64 lowers `Float.addingProduct` to a libm call
/// per lane, and the manifest may not enable `-mfma`. Instead: the product of two floats is
/// exact in double; the sum is rounded once to double and then to float. That double rounding
/// can differ from one rounding only when the double sum lies exactly halfway between two
/// floats (its low 29 mantissa bits are `1 0…0`), and float-subnormal results round at a
/// coarser position; those rare lanes (about 2^-29 of random inputs, or exact zeros) are
/// recomputed with libm's `fmaf`.
@inlinable @inline(__always)
func fusedMultiplyAdd(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    let sum = widen(a) * widen(b) + widen(c)
    var result = narrow(sum)
    // Little-endian: the even 32-bit words hold the low mantissa bits of each double.
    let low = unsafeBitCast(unsafeBitCast(sum, to: SIMD16<UInt32>.self).evenHalf, to: SIMD8<Int32>.self)
    // Negative lanes flag trouble: (x - 1) < 0 iff x == 0 for 0 <= x < 2^29 (halfway sum), and
    // |result| bits - 0x00800001 < 0 iff the result is zero, subnormal or the smallest normal.
    // Integer arithmetic only: Swift's SIMD comparisons are per-lane loops on baseline x86-64.
    let halfway = ((low & 0x1FFF_FFFF) ^ 0x1000_0000) &- 1
    let tiny = (bitsOf(result) & 0x7FFF_FFFF) &- 0x0080_0001
    if anyNegative(halfway | tiny) { fusedMultiplyAddSlowLanes(&result, a, b, c) }
    return result
}

/// Recomputes the flagged lanes with libm `fmaf`; kept out of line so the hot path stays small.
@usableFromInline @inline(never)
func fusedMultiplyAddSlowLanes(_ result: inout SIMD8<Float>, _ a: SIMD8<Float>, _ b: SIMD8<Float>,
                               _ c: SIMD8<Float>) {
    for lane in 0..<8 { result[lane] = c[lane].addingProduct(a[lane], b[lane]) }
}

/// Exact `Float(v)` for 8 integers with |v| < 2^22, by the magic-number trick (baseline x86-64
/// SIMD has no fast generic integer-to-float path in Swift's SIMD initialisers).
@inlinable @inline(__always)
func exactFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
    unsafeBitCast(v &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912  // 1.5 * 2^23
}

/// `u01_f32` of 8 raw draws: `f32(draw & 0xFFFFFF) * 2^-24`, exact.
@inlinable @inline(__always)
func unitFloats(_ draws: SIMD8<UInt32>) -> SIMD8<Float> {
    // Split the 24 bits into two 12-bit halves: both convert exactly, and the sum is exact.
    let high = exactFloat(unsafeBitCast((draws &>> 12) & 0xFFF, to: SIMD8<Int32>.self))
    let low = exactFloat(unsafeBitCast(draws & 0xFFF, to: SIMD8<Int32>.self))
    return (high * 4096 + low) * 0x1p-24
}

// Swift's generic SIMD conversions and `any(_:)` are out-of-line loops on baseline x86-64;
// these straight-line forms compile to `cvtps2pd` / `cvtpd2ps` / `movmsk`-style code.

/// Exact lane-wise `Double(v)`.
@inlinable @inline(__always)
func widen(_ v: SIMD8<Float>) -> SIMD8<Double> {
    SIMD8<Double>(Double(v[0]), Double(v[1]), Double(v[2]), Double(v[3]),
                  Double(v[4]), Double(v[5]), Double(v[6]), Double(v[7]))
}

/// Lane-wise `Float(v)`, rounded to nearest even.
@inlinable @inline(__always)
func narrow(_ v: SIMD8<Double>) -> SIMD8<Float> {
    SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]),
                 Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}

/// Whether any lane is negative.
@inlinable @inline(__always)
func anyNegative(_ v: SIMD8<Int32>) -> Bool {
    (v[0] | v[1] | v[2] | v[3] | v[4] | v[5] | v[6] | v[7]) < 0
}

/// The IEEE bit patterns of 8 floats, as signed integers.
@inlinable @inline(__always)
func bitsOf(_ v: SIMD8<Float>) -> SIMD8<Int32> { unsafeBitCast(v, to: SIMD8<Int32>.self) }

/// 8 floats from their bit patterns.
@inlinable @inline(__always)
func floatsOf(_ v: SIMD8<Int32>) -> SIMD8<Float> { unsafeBitCast(v, to: SIMD8<Float>.self) }

/// Lane-wise `mask ? ifSet : otherwise` for masks of all-ones / all-zeros lanes.
@inlinable @inline(__always)
func select(_ mask: SIMD8<Int32>, _ ifSet: SIMD8<Float>, _ otherwise: SIMD8<Float>) -> SIMD8<Float> {
    floatsOf((bitsOf(ifSet) & mask) | (bitsOf(otherwise) & ~mask))
}

/// All-ones lanes where `a < b`, for non-negative floats (their bit patterns order like integers).
@inlinable @inline(__always)
func lessMask(nonNegative a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Int32> {
    (bitsOf(a) &- bitsOf(b)) &>> 31
}
