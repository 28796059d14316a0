/// Draw logic of PyTorch's default parameter initialisation and DataLoader shuffling
/// (`docs/torch-rng.md` §9, §10; `torch/nn/init.py`, `nn/modules/linear.py`,
/// `utils/data/sampler.py`). Layers call these with their parameter buffers, in construction order.
extension Generator {
    /// `nn.init.calculate_gain("leaky_relu", a) / sqrt(fanIn) * sqrt(3)`: the bound of
    /// `kaiming_uniform_(w, a)` with fan-in mode, computed in double exactly as `init.py` does
    /// (`a**2` is `a * a`; for `a = sqrt(5)`, fan-in 768 it is `0x3fa279a74590331c`).
    /// - Precondition: `fanIn > 0`.
    public static func kaimingUniformBound(fanIn: Int, a: Double = 5.0.squareRoot()) -> Double {
        let gain = (2.0 / (1 + a * a)).squareRoot()
        let std = gain / Double(fanIn).squareRoot()
        return 3.0.squareRoot() * std
    }

    /// The bias bound of `nn.Linear.reset_parameters`: `1 / sqrt(fanIn)`, or 0 when `fanIn == 0`.
    /// It is a different double from ``kaimingUniformBound(fanIn:a:)`` (fan-in 768:
    /// `0x3fa279a74590331d`), though both round to the same float32.
    public static func linearBiasBound(fanIn: Int) -> Double {
        fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
    }

    /// `nn.init.kaiming_uniform_(weight, a)` (fan-in mode, leaky-relu gain):
    /// `uniform_(-bound, bound)` over the weight in row-major order, one draw per element.
    /// - Parameters:
    ///   - weight: the weight's elements, e.g. `(out, in)` row-major for `nn.Linear`.
    ///   - fanIn: `weight.size(1) * receptive field` (`in` for `nn.Linear`).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `fanIn <= 0` (PyTorch warns and skips
    ///   zero-element tensors; the caller should not call this for them).
    public func fillKaimingUniform(_ weight: UnsafeMutableBufferPointer<Float>, fanIn: Int,
                                   a: Double = 5.0.squareRoot()) throws(RandomError)
    {
        guard fanIn > 0 else { throw .invalidArgument("kaiming_uniform_ needs fanIn > 0, got \(fanIn)") }
        let bound = Self.kaimingUniformBound(fanIn: fanIn, a: a)
        try fillUniform(weight, from: -bound, to: bound)
    }

    /// `nn.Linear(in, out, bias)` default initialisation: the weight `(out, in)` by
    /// `kaiming_uniform_(a: sqrt(5))`, then the bias `(out)` by `uniform_(±1/sqrt(in))`.
    /// Draws: `in*out + out` (float32).
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `fanIn <= 0`.
    public func initLinear(weight: UnsafeMutableBufferPointer<Float>, bias: UnsafeMutableBufferPointer<Float>?,
                           fanIn: Int) throws(RandomError)
    {
        try fillKaimingUniform(weight, fanIn: fanIn)
        if let bias {
            let bound = Self.linearBiasBound(fanIn: fanIn)
            try fillUniform(bias, from: -bound, to: bound)
        }
    }

    /// `nn.Embedding(num, dim)` default initialisation: `normal_(0, 1)` over the `(num, dim)`
    /// weight (the block path when `num * dim >= 16`). A `padding_idx` row is zeroed by the
    /// caller afterwards; its draws are still consumed.
    public func initEmbedding(weight: UnsafeMutableBufferPointer<Float>) {
        // std = 1 is valid, so the throwing checks cannot fire.
        try! fillNormal(weight, mean: 0, std: 1)
    }

    /// `RandomSampler.__iter__` without a generator: draws a seed with `random_()` (2 draws from
    /// `self`), seeds a private `Generator` with it and returns its `randperm(count)`.
    ///
    /// A `DataLoader(shuffle: true)` epoch with `num_workers=0` first draws its `_base_seed`
    /// (``nextNonNegativeInt64()``, 2 more draws) and then calls this: 4 draws per epoch from the
    /// global generator. With an explicit loader generator `g`, PyTorch instead draws the base
    /// seed from `g` and uses `g.randperm(count)` directly.
    /// - Throws: ``RandomError/invalidArgument(_:)`` if `count < 0`.
    public func randomSamplerPermutation(count: Int) throws(RandomError) -> [Int64] {
        let seed = nextNonNegativeInt64()
        return try Generator(seed: UInt64(seed)).randperm(count)
    }
}
