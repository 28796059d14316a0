import Foundation

/// Bernoulli, dropout and exponential sampling (`docs/torch-rng.md` §7, §8).
extension Generator {
    static func checkProbability(_ p: Double, _ name: String) throws(RandomError) {
        guard p >= 0, p <= 1 else { throw .invalidArgument("\(name) expects p to be in [0, 1], but got p=\(p)") }
    }

    /// `t.bernoulli_(p)` with a scalar `p` (float32 tensor): element = `u01_f64() < p ? 1 : 0`,
    /// 2 draws per element in buffer order, comparison in double.
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `0 <= p <= 1`.
    public func fillBernoulli(_ buffer: UnsafeMutableBufferPointer<Float>, p: Double) throws(RandomError) {
        try Self.checkProbability(p, "bernoulli_")
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = unitDouble() < p ? 1 : 0 }
    }

    /// `t.bernoulli_(p)` with a scalar `p` for a float64 tensor (same draws as the float32 one).
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `0 <= p <= 1`.
    public func fillBernoulli(_ buffer: UnsafeMutableBufferPointer<Double>, p: Double) throws(RandomError) {
        try Self.checkProbability(p, "bernoulli_")
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = unitDouble() < p ? 1 : 0 }
    }

    /// `torch.bernoulli(probabilities)` for float32 probabilities: element i = `u01_f32() < p[i]`
    /// compared in float, ONE draw per element. `buffer` and `probabilities` have the same count
    /// and row-major order.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if the counts differ or a p is outside [0, 1].
    public func fillBernoulli(_ buffer: UnsafeMutableBufferPointer<Float>, probabilities: UnsafeBufferPointer<Float>)
        throws(RandomError)
    {
        guard buffer.count == probabilities.count else {
            throw .invalidArgument("bernoulli: \(buffer.count) outputs for \(probabilities.count) probabilities")
        }
        for p in probabilities where !(p >= 0 && p <= 1) {
            throw .invalidArgument("bernoulli expects all probabilities in [0, 1], got \(p)")
        }
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = Self.unitFloat(draw32()) < probabilities[i] ? 1 : 0 }
    }

    /// `torch.bernoulli(probabilities)` for float64 probabilities: `u01_f64() < p[i]`, 2 draws each.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if the counts differ or a p is outside [0, 1].
    public func fillBernoulli(_ buffer: UnsafeMutableBufferPointer<Double>, probabilities: UnsafeBufferPointer<Double>)
        throws(RandomError)
    {
        guard buffer.count == probabilities.count else {
            throw .invalidArgument("bernoulli: \(buffer.count) outputs for \(probabilities.count) probabilities")
        }
        for p in probabilities where !(p >= 0 && p <= 1) {
            throw .invalidArgument("bernoulli expects all probabilities in [0, 1], got \(p)")
        }
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = unitDouble() < probabilities[i] ? 1 : 0 }
    }

    /// The noise tensor of CPU `F.dropout(x, p, training: true)` (`_dropout_impl`):
    /// `noise.bernoulli_(1 - p); noise.div_(1 - p)`, i.e. element = `u01_f64() < 1-p ? scale : 0`
    /// with `scale = 1f / f32(1 - p)` (NOT `f32(1 / (1 - p))`). The output is `x * noise`
    /// elementwise (float32 multiply; dropped elements give ±0), and backward is `grad * noise`.
    ///
    /// Special cases, as PyTorch (no draws): `p == 0` fills 1 (the output is `x` itself);
    /// `p == 1` fills 0 (the output is `x * 0`). Otherwise 2 draws per element, buffer order.
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `0 <= p <= 1`.
    public func fillDropoutNoise(_ noise: UnsafeMutableBufferPointer<Float>, p: Double) throws(RandomError) {
        try Self.checkProbability(p, "dropout")
        if p == 0 || p == 1 {
            noise.update(repeating: p == 0 ? 1 : 0)
            return
        }
        let keep = 1 - p
        let scale = Float(1) / Float(keep)
        lock.lock(); defer { lock.unlock() }
        // The same draws as one `unitDouble()` per element (high word first), taken 2048 words at a
        // time through `drawRaw`, whose tempering loop vectorises: a GPT-124M training step draws
        // 2 × 5.3M words for its dropout masks.
        let chunk = 1024
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 2 * chunk) { words in
            let w = words.baseAddress!
            var i = 0
            while i < noise.count {
                let n = Swift.min(chunk, noise.count - i)
                drawRaw(w, 2 * n)
                for k in 0..<n {
                    let draw = UInt64(w[2 * k]) << 32 | UInt64(w[2 * k + 1])
                    noise[i + k] = Self.unitDouble(draw) < keep ? scale : 0
                }
                i += n
            }
        }
    }

    /// The float64 dropout noise: element = `u01_f64() < 1-p ? 1/(1-p) : 0` (double division).
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `0 <= p <= 1`.
    public func fillDropoutNoise(_ noise: UnsafeMutableBufferPointer<Double>, p: Double) throws(RandomError) {
        try Self.checkProbability(p, "dropout")
        if p == 0 || p == 1 {
            noise.update(repeating: p == 0 ? 1 : 0)
            return
        }
        let keep = 1 - p
        let scale = 1 / keep
        lock.lock(); defer { lock.unlock() }
        for i in noise.indices { noise[i] = unitDouble() < keep ? scale : 0 }
    }

    /// `t.exponential_(lambda)` for float32: `f32((-1 / lambda) * log1p(-u01_f64()))`,
    /// 2 draws per element (PyTorch's default CPU kernel; libm `log1p`).
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `lambda > 0`.
    public func fillExponential(_ buffer: UnsafeMutableBufferPointer<Float>, lambda: Double = 1) throws(RandomError) {
        guard lambda > 0 else { throw .invalidArgument("exponential_ expects lambda > 0.0, but found lambda=\(lambda)") }
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = Float(exponentialDouble(lambda)) }
    }

    /// `t.exponential_(lambda)` for float64 (same draws, no rounding to float).
    /// - Throws: ``RandomError/invalidArgument(_:)`` unless `lambda > 0`.
    public func fillExponential(_ buffer: UnsafeMutableBufferPointer<Double>, lambda: Double = 1) throws(RandomError) {
        guard lambda > 0 else { throw .invalidArgument("exponential_ expects lambda > 0.0, but found lambda=\(lambda)") }
        lock.lock(); defer { lock.unlock() }
        for i in buffer.indices { buffer[i] = exponentialDouble(lambda) }
    }

    /// One exponential value in double; the caller holds `lock`.
    func exponentialDouble(_ lambda: Double) -> Double {
        (-1.0 / lambda) * Foundation.log1p(-unitDouble())
    }
}
