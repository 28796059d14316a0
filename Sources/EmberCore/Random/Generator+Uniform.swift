/// `uniform_(from, to)` / `rand` fills (`docs/torch-rng.md` §4, variant "avx2").
extension Generator {
    /// PyTorch's `check_uniform_bounds`: `from` and `to` inside the dtype's range,
    /// `from <= to`, and `to - from` representable.
    static func checkUniformBounds(from: Double, to: Double, limit: Double) throws(RandomError) {
        guard from >= -limit, from <= limit else { throw .invalidArgument("from is out of bounds: \(from)") }
        guard to >= -limit, to <= limit else { throw .invalidArgument("to is out of bounds: \(to)") }
        guard from <= to else {
            throw .invalidArgument("uniform_ expects to return a [from, to) range, but found from=\(from) > to=\(to)")
        }
        guard to - from <= limit else {
            throw .invalidArgument("uniform_ expects to-from <= max, but found to=\(to) and from=\(from)")
        }
    }

    /// Fills a contiguous float32 buffer with `uniform_(from, to)` (`torch.rand` is `from: 0, to: 1`).
    ///
    /// One draw per element, in buffer order: `v = fmaf(u, f32(to) - f32(from), f32(from))`
    /// with `u = (draw & 0xFFFFFF) * 2^-24`, and a `v` equal to `f32(to)` becomes `f32(from)`.
    /// Source: PyTorch `uniform_` (`TransformationHelper.h`, `DistributionTemplates.h`).
    /// - Parameters:
    ///   - buffer: any shape's elements in row-major order; all are overwritten.
    ///   - from: lower bound (inclusive), converted to float32.
    ///   - to: upper bound (exclusive), converted to float32.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `from > to`, either is outside the
    ///   float32 range, or `to - from` exceeds `Float.greatestFiniteMagnitude`.
    public func fillUniform(_ buffer: UnsafeMutableBufferPointer<Float>, from: Double = 0, to: Double = 1)
        throws(RandomError)
    {
        try Self.checkUniformBounds(from: from, to: to, limit: Double(Float.greatestFiniteMagnitude))
        guard let out = buffer.baseAddress, !buffer.isEmpty else { return }
        let low = Float(from), high = Float(to)
        let width = high - low
        let count = buffer.count
        withLockedScratch { scratch in
            let lowV = SIMD8<Float>(repeating: low), highV = SIMD8<Float>(repeating: high)
            let widthV = SIMD8<Float>(repeating: width)
            var done = 0
            while done < count {
                let chunk = min(Self.scratchCount, count - done)
                drawRaw(scratch, chunk)
                let destination = UnsafeMutableRawPointer(out + done)
                let raw = UnsafeRawPointer(scratch)
                var k = 0
                while k + 8 <= chunk && high != 0 {
                    let u = unitFloats(raw.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<UInt32>.self))
                    let v = fusedMultiplyAdd(u, widthV, lowV)
                    // v == to -> from, as an integer test on the bits (to != 0 here, so +0/-0
                    // cannot disagree): all-ones lanes where the xor is zero.
                    let difference = bitsOf(v) ^ bitsOf(highV)
                    let equal = ~((difference | (0 &- difference)) &>> 31)
                    destination.storeBytes(of: select(equal, lowV, v), toByteOffset: 4 * k, as: SIMD8<Float>.self)
                    k += 8
                }
                while k < chunk {
                    let v = low.addingProduct(Self.unitFloat(scratch[k]), width)
                    out[done + k] = v == high ? low : v
                    k += 1
                }
                done += chunk
            }
        }
    }

    /// Fills a contiguous float64 buffer with `uniform_(from, to)`.
    ///
    /// Two draws per element: `v = fma(u, to - from, from)` with `u` the low 53 bits of
    /// `random64()` times 2^-53; a `v` equal to `to` becomes `from`.
    /// - Throws: ``RandomError/invalidArgument(_:)`` as the float32 overload, with float64 limits.
    public func fillUniform(_ buffer: UnsafeMutableBufferPointer<Double>, from: Double = 0, to: Double = 1)
        throws(RandomError)
    {
        try Self.checkUniformBounds(from: from, to: to, limit: Double.greatestFiniteMagnitude)
        guard let out = buffer.baseAddress, !buffer.isEmpty else { return }
        let width = to - from
        let count = buffer.count
        withLockedScratch { scratch in
            var done = 0
            while done < count {
                let chunk = min(Self.scratchCount / 2, count - done)
                drawRaw(scratch, 2 * chunk)
                for k in 0..<chunk {
                    let u = Self.unitDouble((UInt64(scratch[2 * k]) << 32) | UInt64(scratch[2 * k + 1]))
                    let v = from.addingProduct(u, width)
                    out[done + k] = v == to ? from : v
                }
                done += chunk
            }
        }
    }
}
