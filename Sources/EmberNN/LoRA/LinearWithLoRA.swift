import EmberCore

/// A ``Linear`` plus a ``LoRALayer`` (the book's appendix E `LinearWithLoRA`):
/// `forward(x) = linear(x) + lora(x)`.
///
/// Children `linear` then `lora`, so the state-dict keys are the book's: `linear.weight`,
/// `linear.bias`, `lora.A`, `lora.B` (e.g. `trf_blocks.0.att.W_query.linear.weight`,
/// `trf_blocks.0.att.W_query.lora.A`). ``weight`` and ``bias`` are the base layer's (as PEFT's
/// `lora.Linear.weight`), so code reading `model.out_head.weight` keeps working.
/// Input `[*, inFeatures]`, output `[*, outFeatures]`.
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/appendix-E/01_main-chapter-code/appendix-E.ipynb
public final class LinearWithLoRA: Module, LinearLayer {
    /// The base layer (frozen in appendix E: only `lora` trains).
    @Child public var linear: Linear
    /// The low-rank update.
    @Child public var lora: LoRALayer

    /// Wraps `linear`, drawing `lora.A` (see ``LoRALayer``) on `linear.weight`'s device and dtype.
    /// - Parameters: `rank ≥ 1`, `alpha` (scaling `alpha / rank`), `generator` for `A` (global when nil).
    public init(_ linear: Linear, rank: Int, alpha: Double, generator: Generator? = nil) {
        self.linear = linear
        self.lora = LoRALayer(inDim: linear.inFeatures, outDim: linear.outFeatures, rank: rank, alpha: alpha,
                              device: linear.weight.device, dtype: linear.weight.dtype, generator: generator)
        super.init()
    }

    /// Wraps `linear` with given factors (loading an adapter): `A` `[inFeatures, rank]`, `B`
    /// `[rank, outFeatures]`; nothing is drawn.
    /// - Throws: ``EmberError`` (`ValueError`) when the shapes do not fit `linear`.
    public init(_ linear: Linear, A: Tensor, B: Tensor, alpha: Double) throws {
        guard A.ndim == 2, B.ndim == 2, A.shape[0] == linear.inFeatures, B.shape[1] == linear.outFeatures,
              A.shape[1] == B.shape[0], A.shape[1] >= 1 else {
            throw EmberError(.value, "LoRA factors A \(A.shape) and B \(B.shape) do not fit Linear(in_features=\(linear.inFeatures), out_features=\(linear.outFeatures)): expected A [\(linear.inFeatures), r] and B [r, \(linear.outFeatures)]")
        }
        self.linear = linear
        let lora = LoRALayer(inDim: linear.inFeatures, outDim: linear.outFeatures, rank: A.shape[1], alpha: alpha, device: .meta,
                             dtype: linear.weight.dtype)
        lora.A = A
        lora.B = B
        self.lora = lora
        super.init()
    }

    public var inFeatures: Int { linear.inFeatures }
    public var outFeatures: Int { linear.outFeatures }
    /// The base layer's weight `[outFeatures, inFeatures]`.
    public var weight: Tensor {
        get { linear.weight }
        set { linear.weight = newValue }
    }
    /// The base layer's bias `[outFeatures]`.
    public var bias: Tensor? {
        get { linear.bias }
        set { linear.bias = newValue }
    }

    /// `linear(x) + lora(x)`: `[*, inFeatures] → [*, outFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x) + lora(x) }

    /// A new plain ``Linear`` computing the same function: `weight' = W + (alpha / rank) · (A · B)ᵀ`,
    /// the same bias tensor values (copied), each with this layer's `requiresGrad` of the base.
    /// Nothing is drawn; the result shares no memory with this layer.
    public func merged() -> Linear {
        let w = linear.weight
        let out = Linear(inFeatures, outFeatures, bias: linear.bias != nil, device: .meta, dtype: w.dtype)
        let merged = noGrad { w + lora.deltaWeight() }
        out.weight = merged
        merged.requiresGrad = w.requiresGrad
        if let b = linear.bias {
            let nb = noGrad { b.clone() }
            out.bias = nb
            nb.requiresGrad = b.requiresGrad
        }
        return out
    }
}
