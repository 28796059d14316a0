import Foundation

/// `normal_(mean, std)` / `randn` fills (`docs/torch-rng.md` §5).
///
/// PyTorch picks the path by the tensor: contiguous with 16 or more elements uses the
/// vectorised 16-block Box–Muller (``fillNormalBlocks(_:mean:std:)-(UnsafeMutableBufferPointer<Float>,_,_)``),
/// which never touches the cached normal; anything else uses the scalar double Box–Muller
/// (``fillNormalScalar(_:mean:std:)-(UnsafeMutableBufferPointer<Float>,_,_)``), which reads and
/// writes the cache. ``fillNormal(_:mean:std:contiguous:)-(UnsafeMutableBufferPointer<Float>,_,_,_)``
/// makes that choice.
extension Generator {
    static func checkStd(_ std: Double) throws(RandomError) {
        guard std >= 0 else { throw .invalidArgument("normal expects std >= 0.0, but found std \(std)") }
    }

    /// Fills a float32 buffer with `normal_(mean, std)`, choosing PyTorch's path.
    /// - Parameters:
    ///   - buffer: the elements in iteration (row-major) order.
    ///   - contiguous: whether the tensor being filled is contiguous. Pass `false` for a view;
    ///     then the buffer must hold the elements in the view's iteration order (the caller
    ///     scatters them back).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `std < 0` or is NaN.
    public func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Double = 0, std: Double = 1,
                           contiguous: Bool = true) throws(RandomError)
    {
        if buffer.count >= 16 && contiguous {
            try fillNormalBlocks(buffer, mean: mean, std: std)
        } else {
            try fillNormalScalar(buffer, mean: mean, std: std)
        }
    }

    /// Fills a float64 buffer with `normal_(mean, std)`, choosing PyTorch's path (see the
    /// float32 overload).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `std < 0` or is NaN.
    public func fillNormal(_ buffer: UnsafeMutableBufferPointer<Double>, mean: Double = 0, std: Double = 1,
                           contiguous: Bool = true) throws(RandomError)
    {
        if buffer.count >= 16 && contiguous {
            try fillNormalBlocks(buffer, mean: mean, std: std)
        } else {
            try fillNormalScalar(buffer, mean: mean, std: std)
        }
    }

    /// PyTorch's `normal_fill` for float32 (§5.1, §5.3): one draw per element, then 16-element
    /// Box–Muller blocks; if `count % 16 != 0`, 16 fresh draws recompute the last 16 elements.
    /// Draws: `count + (count % 16 == 0 ? 0 : 16)`. `mean` and `std` are rounded to float32.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `buffer.count < 16` or `std < 0`.
    public func fillNormalBlocks(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double)
        throws(RandomError)
    {
        try Self.checkStd(std)
        guard buffer.count >= 16, let out = buffer.baseAddress else {
            throw .invalidArgument("normal_fill needs at least 16 elements, got \(buffer.count)")
        }
        let count = buffer.count, fullEnd = count - count % 16
        let meanF = Float(mean), stdF = Float(std)
        withLockedScratch { scratch in
            var done = 0
            while done < fullEnd {
                let chunk = min(Self.scratchCount, fullEnd - done)
                drawRaw(scratch, chunk)
                for b in stride(from: 0, to: chunk, by: 16) {
                    NormalBlock.block(draws: scratch + b, out: out + done + b, mean: meanF, std: stdF)
                }
                done += chunk
            }
            if count % 16 != 0 {
                drawRaw(scratch, count % 16)  // the leftover slots' uniforms; the tail overwrites them
                drawRaw(scratch, 16)
                NormalBlock.block(draws: scratch, out: out + count - 16, mean: meanF, std: stdF)
            }
        }
    }

    /// PyTorch's `normal_fill` for float64 (§5.1, §5.5): as the float32 version with two draws
    /// per uniform and the libm double block.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `buffer.count < 16` or `std < 0`.
    public func fillNormalBlocks(_ buffer: UnsafeMutableBufferPointer<Double>, mean: Double, std: Double)
        throws(RandomError)
    {
        try Self.checkStd(std)
        guard buffer.count >= 16, let out = buffer.baseAddress else {
            throw .invalidArgument("normal_fill needs at least 16 elements, got \(buffer.count)")
        }
        let count = buffer.count, fullEnd = count - count % 16
        withLockedScratch { scratch in
            var done = 0
            while done < fullEnd {
                let chunk = min(Self.scratchCount / 2, fullEnd - done)
                drawRaw(scratch, 2 * chunk)
                for b in stride(from: 0, to: chunk, by: 16) {
                    NormalBlock.block(draws: scratch + 2 * b, out: out + done + b, mean: mean, std: std)
                }
                done += chunk
            }
            if count % 16 != 0 {
                drawRaw(scratch, 2 * (count % 16))
                drawRaw(scratch, 32)
                NormalBlock.block(draws: scratch, out: out + count - 16, mean: mean, std: std)
            }
        }
    }

    /// The scalar path for float32 (§5.2): one `normal_distribution<double>` call per element,
    /// `fma(ret, std, mean)` rounded to float32. A call uses the cached value if present,
    /// otherwise draws 4 times and caches the second value.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `std < 0`.
    public func fillNormalScalar(_ buffer: UnsafeMutableBufferPointer<Float>, mean: Double, std: Double)
        throws(RandomError)
    {
        try Self.checkStd(std)
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = Float(mean.addingProduct(standardNormalDouble(), std)) }
    }

    /// The scalar path for float64 (§5.2), without the final rounding.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `std < 0`.
    public func fillNormalScalar(_ buffer: UnsafeMutableBufferPointer<Double>, mean: Double, std: Double)
        throws(RandomError)
    {
        try Self.checkStd(std)
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = mean.addingProduct(standardNormalDouble(), std) }
    }

    /// One `at::normal_distribution<double>` value before scaling; the caller holds `lock`.
    /// `u1` is drawn first and feeds the angle; `u2` feeds the radius via `log1p(-u2)`.
    func standardNormalDouble() -> Double {
        if let cached = nextDoubleNormal {
            nextDoubleNormal = nil
            return cached
        }
        let u1 = unitDouble()
        let u2 = unitDouble()
        let radius = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = (2.0 * Double.pi) * u1
        nextDoubleNormal = radius * Foundation.sin(theta)
        return radius * Foundation.cos(theta)
    }
}
