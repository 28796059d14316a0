import EmberCore

/// The low-rank update of LoRA (Hu et al. 2021, https://arxiv.org/abs/2106.09685), as the book's
/// appendix E `LoRALayer`: `forward(x) = (alpha / rank) · (x · A · B)`.
///
/// - `A`: `[inDim, rank]` float32, drawn by `kaiming_uniform_(A, a: √5)`, i.e.
///   `uniform_(-bound, bound)` with `bound = √3 · √(2 / (1 + 5)) / √rank` computed in float64
///   (0.24999999999999997 for rank 16; the fan-in of the 2-D `[inDim, rank]` tensor is its size(1) =
///   `rank`). One draw of `inDim · rank` floats from the generator, row-major, as PyTorch draws it.
/// - `B`: `[rank, outDim]` zeros, so a freshly wrapped layer computes exactly what it did before.
/// - Input `[*, inDim]`, output `[*, outDim]`.
///
/// The product is computed as `(x · A) · B`, never forming `A · B` (`[inDim, outDim]`) during
/// training. The scaling is `alpha / rank`, the paper's and PEFT's, as the book's code has it since
/// rasbt/LLMs-from-scratch#821 / #823 (earlier printings multiplied by `alpha` alone).
/// State-dict keys `A`, `B` (in that order).
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/appendix-E/01_main-chapter-code/appendix-E.ipynb
public final class LoRALayer: Module, UnaryLayer {
    /// Down-projection `[inDim, rank]`.
    @Parameter public var A: Tensor
    /// Up-projection `[rank, outDim]`, zeros at creation.
    @Parameter public var B: Tensor
    /// The rank `r` of the update.
    public let rank: Int
    /// The book's and PEFT's `alpha` (`lora_alpha`).
    public let alpha: Double

    /// `alpha / rank`, the factor applied to `x · A · B`.
    public var scaling: Double { alpha / Double(rank) }

    /// - Parameters:
    ///   - inDim, outDim: the wrapped layer's input and output sizes.
    ///   - rank: `r ≥ 1` (else a `ValueError` is raised).
    ///   - alpha: the scaling numerator.
    ///   - device, dtype: where `A` and `B` live; `.meta` allocates and draws nothing.
    ///   - generator: the generator `A` is drawn from (the global one when nil).
    public init(inDim: Int, outDim: Int, rank: Int, alpha: Double, device: Device = .cpu, dtype: DType = .float32,
                generator: Generator? = nil) {
        if rank < 1 { EmberError(.value, "LoRA rank must be at least 1, got \(rank)").raise() }
        self.rank = Swift.max(rank, 1)
        self.alpha = alpha
        let a = Tensor.empty([inDim, self.rank], dtype: dtype, device: device)
        Init.kaimingUniform_(a, a: 5.0.squareRoot(), generator: generator)
        self.A = a
        self.B = Tensor.zeros([self.rank, outDim], dtype: dtype, device: device)
        super.init()
    }

    /// `(alpha / rank) · ((x · A) · B)`: `[*, inDim] → [*, rank] → [*, outDim]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x.matmul(A).matmul(B)               // (*, rank) then (*, outDim)
        let s = scaling
        return s == 1 ? h : s * h
    }

    /// `(alpha / rank) · (A · B)ᵀ` `[outDim, inDim]`: the update to add to a `Linear`'s weight when
    /// merging (the book's `W + (alpha/rank) · (A @ B).T`). Not recorded by autograd.
    public func deltaWeight() -> Tensor {
        noGrad { (scaling * A.matmul(B)).t() }
    }
}
