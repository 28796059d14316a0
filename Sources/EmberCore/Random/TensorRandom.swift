/// Tensor-level random functions on top of ``Generator``: `torch.rand`, `randn`, `randint`,
/// `randperm`, `bernoulli`, `multinomial`, and in-place `uniform_`/`normal_`. Each consumes the
/// generator's draws exactly as PyTorch's CPU kernels do (docs/torch-rng.md).

extension Tensor {
    /// Fills self (float32 or float64, CPU) through a contiguous buffer, scattering back when self
    /// is a view. `fill(buffer, contiguous)` writes the values in iteration order.
    func fillRandom(_ fill32: (UnsafeMutableBufferPointer<Float>, Bool) throws(RandomError) -> Void,
                    _ fill64: (UnsafeMutableBufferPointer<Double>, Bool) throws(RandomError) -> Void) {
        guard device == .cpu else {
            // Draws come from the CPU generator on every device, so a seed gives the same numbers
            // everywhere; an accelerator receives them as a copy.
            if isMeta { return }
            let host = Tensor(shape: shape, dtype: dtype, device: .cpu, zeroed: false)
            host.fillRandom(fill32, fill64)
            copyElements(from: host, to: self)
            storage.bumpVersion()
            return
        }
        let contiguous = isContiguous
        let target = contiguous && (dtype == .float32 || dtype == .float64) ? self
            : Tensor(shape: shape, dtype: dtype == .float64 ? .float64 : .float32, device: .cpu, zeroed: false)
        do {
            if target.dtype == .float64 {
                try fill64(UnsafeMutableBufferPointer(start: target.pointer(Double.self), count: numel), contiguous)
            } else {
                try fill32(UnsafeMutableBufferPointer(start: target.pointer(Float.self), count: numel), contiguous)
            }
        } catch {
            _ = raiseError(error.description)
            return
        }
        if target !== self { cpuCopy(from: target, to: self) }
        storage.bumpVersion()
    }

    /// `uniform_(from, to)` in place. Source: docs/torch-rng.md §4.
    @discardableResult
    public func uniform_(_ from: Double = 0, _ to: Double = 1, generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        noGrad { fillRandom({ (b, _) throws(RandomError) in try g.fillUniform(b, from: from, to: to) },
                            { (b, _) throws(RandomError) in try g.fillUniform(b, from: from, to: to) }) }
        return self
    }

    /// `normal_(mean, std)` in place: the 16-block path for contiguous tensors of ≥ 16 elements,
    /// the scalar cached path otherwise. Source: docs/torch-rng.md §5.
    @discardableResult
    public func normal_(_ mean: Double = 0, _ std: Double = 1, generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        noGrad { fillRandom({ (b, c) throws(RandomError) in try g.fillNormal(b, mean: mean, std: std, contiguous: c) },
                            { (b, c) throws(RandomError) in try g.fillNormal(b, mean: mean, std: std, contiguous: c) }) }
        return self
    }

    /// `torch.rand(shape)`: uniform in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, generator: Generator? = nil, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, device: .cpu, zeroed: false)
        t.uniform_(0, 1, generator: generator)
        if requiresGrad { t.requiresGrad = true }
        return t
    }
    public static func rand(_ shape: Int..., generator: Generator? = nil) -> Tensor { rand(shape, generator: generator) }

    /// `torch.randn(shape)`: standard normal.
    public static func randn(_ shape: [Int], dtype: DType = .float32, generator: Generator? = nil, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, device: .cpu, zeroed: false)
        t.normal_(0, 1, generator: generator)
        if requiresGrad { t.requiresGrad = true }
        return t
    }
    public static func randn(_ shape: Int..., generator: Generator? = nil) -> Tensor { randn(shape, generator: generator) }

    /// `torch.randint(low, high, shape)`: int64 values in [low, high). Source: docs/torch-rng.md §6.
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], generator: Generator? = nil) -> Tensor {
        guard low < high else {
            return raiseError("random_ expects 'from' to be less than 'to', but got from=\(low) >= to=\(high)", shape: shape, dtype: .int64)
        }
        let g = generator ?? .default
        let t = Tensor(shape: shape, dtype: .int64, device: .cpu, zeroed: false)
        do {
            try g.fillRandint(UnsafeMutableBufferPointer(start: t.pointer(Int64.self), count: t.numel), low: Int64(low), high: Int64(high))
        } catch { return raiseError(error.description, shape: shape, dtype: .int64) }
        return t
    }
    public static func randint(_ high: Int, _ shape: [Int], generator: Generator? = nil) -> Tensor { randint(0, high, shape, generator: generator) }

    /// `torch.randperm(n)`: a random permutation of 0..<n (int64). Source: docs/torch-rng.md §9.
    public static func randperm(_ n: Int, generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        do {
            let p = try g.randperm(n)
            return Tensor(array: p, shape: [n])
        } catch {
            return raiseError(error.description, shape: [n], dtype: .int64)
        }
    }

    /// `torch.bernoulli(self)`: 0/1 draws with probabilities `self` (float32/float64).
    public func bernoulli(generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        let probs = self.rawCast(dtype == .float64 ? .float64 : .float32).hostCopy()
        let out = Tensor(shape: shape, dtype: probs.dtype, device: .cpu, zeroed: false)
        do {
            if probs.dtype == .float64 {
                try g.fillBernoulli(UnsafeMutableBufferPointer(start: out.pointer(Double.self), count: numel),
                                    probabilities: UnsafeBufferPointer(start: probs.pointer(Double.self), count: numel))
            } else {
                try g.fillBernoulli(UnsafeMutableBufferPointer(start: out.pointer(Float.self), count: numel),
                                    probabilities: UnsafeBufferPointer(start: probs.pointer(Float.self), count: numel))
            }
        } catch { return raiseError(error.description, shape: shape, dtype: dtype) }
        return out.to(dtype).to(device)
    }

    /// `bernoulli_(p)` in place with a scalar probability.
    @discardableResult
    public func bernoulli_(_ p: Double, generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        noGrad { fillRandom({ (b, _) throws(RandomError) in try g.fillBernoulli(b, p: p) },
                            { (b, _) throws(RandomError) in try g.fillBernoulli(b, p: p) }) }
        return self
    }

    /// The scaled keep-mask of CPU dropout (`x * mask` is `F.dropout(x, p, training=True)`):
    /// elements are `1/(1-p)` (float32: `1f / f32(1-p)`) or 0. Source: docs/torch-rng.md §7.
    public static func dropoutMask(_ shape: [Int], p: Double, dtype: DType = .float32, generator: Generator? = nil) -> Tensor {
        let g = generator ?? .default
        let t = Tensor(shape: shape, dtype: dtype == .float64 ? .float64 : .float32, device: .cpu, zeroed: false)
        do {
            if t.dtype == .float64 {
                try g.fillDropoutNoise(UnsafeMutableBufferPointer(start: t.pointer(Double.self), count: t.numel), p: p)
            } else {
                try g.fillDropoutNoise(UnsafeMutableBufferPointer(start: t.pointer(Float.self), count: t.numel), p: p)
            }
        } catch { return raiseError(error.description, shape: shape, dtype: dtype) }
        return t.rawCast(dtype)
    }

    /// `torch.multinomial(self, numSamples, replacement)`: category indices drawn from each row of
    /// probabilities (1-D or 2-D), int64. Source: docs/torch-rng.md §8.
    public func multinomial(_ numSamples: Int, replacement: Bool = false, generator: Generator? = nil) -> Tensor {
        guard ndim == 1 || ndim == 2 else { return raiseError("prob_dist must be 1 or 2 dim", dtype: .int64) }
        guard dtype.isFloatingPoint else { return raiseError("multinomial only supports floating-point dtypes for input, got: \(dtype.scalarTypeName)", dtype: .int64) }
        let g = generator ?? .default
        let cats = shape[ndim - 1]
        let rows = ndim == 2 ? shape[0] : 1
        do {
            let result: [Int64]
            if dtype == .float64 {
                let p = hostCopy()
                result = try g.multinomial(UnsafeBufferPointer(start: p.pointer(Double.self), count: numel), categories: cats, numSamples: numSamples, replacement: replacement)
            } else {
                let p = rawCast(.float32).hostCopy()
                result = try g.multinomial(UnsafeBufferPointer(start: p.pointer(Float.self), count: numel), categories: cats, numSamples: numSamples, replacement: replacement)
            }
            return Tensor(array: result, shape: ndim == 2 ? [rows, numSamples] : [numSamples]).to(device)
        } catch {
            return raiseError(error.description, dtype: .int64)
        }
    }
}

/// `torch.manual_seed` for the default generator; also returns nothing (Swift style).
/// (Defined in Generator.swift as `manualSeed(_:)`.)
