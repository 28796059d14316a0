import EmberCore

/// `nn.Embedding(numEmbeddings, embeddingDim)`: a lookup table, `weight` [numEmbeddings,
/// embeddingDim] initialised by `normal_(0, 1)`. Input: int64 indices of any shape; output:
/// shape + [embeddingDim]. Book ch. 2 (token and positional embeddings).
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html
public final class Embedding: Module, UnaryLayer {
    @Parameter public var weight: Tensor
    public let numEmbeddings: Int
    public let embeddingDim: Int

    public init(_ numEmbeddings: Int, _ embeddingDim: Int, device: Device = .cpu, dtype: DType = .float32) {
        self.numEmbeddings = numEmbeddings
        self.embeddingDim = embeddingDim
        let w = Tensor.empty([numEmbeddings, embeddingDim], dtype: dtype, device: device)
        if device == .cpu { Init.normal_(w) }
        self.weight = w
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { embedding(x, weight: weight) }

    public override var extraRepr: String { "\(numEmbeddings), \(embeddingDim)" }
}

/// `F.embedding(indices, weight)`: rows of `weight` at `indices` (`EmbeddingBackward0`).
/// - Errors: non-integer indices; an index outside `0..<weight.size(0)` ("index out of range in self").
public func embedding(_ indices: Tensor, weight: Tensor) -> Tensor {
    guard indices.dtype == .int64 || indices.dtype == .int32 else {
        return EmberError(.runtime, "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.\(indices.dtype.scalarTypeName)Tensor instead (while checking arguments for embedding)").raise(shape: indices.shape + [weight.shape.last ?? 0])
    }
    guard indices.device == weight.device else {
        let (a, b) = weight.device == .cpu ? (indices.device, weight.device) : (weight.device, indices.device)
        return EmberError(.runtime, "Expected all tensors to be on the same device, but found at least two devices, \(a) and \(b)!").raise(shape: indices.shape + [weight.shape.last ?? 0])
    }
    let n = weight.shape[0]
    if !indices.isMeta, let bad = indices.toInt64s().first(where: { $0 < 0 || $0 >= Int64(n) }) {
        _ = bad
        return EmberError(.index, "index out of range in self").raise(shape: indices.shape + [weight.shape.last ?? 0])
    }
    let flat = indices.reshape([-1])
    let rows = noGrad { weight.indexSelect(0, flat) }
    let out = rows.reshape(indices.shape + [weight.shape[1]])
    guard Tensor.needsGrad([weight]) else { return out }
    return out.recordGrad("EmbeddingBackward0", [weight]) { g in
        // One zeroed gradient, rows added in place (no copy of the [vocab, emb] table).
        let gw = Tensor.zeros(weight.shape, dtype: g.dtype, device: g.device)
        gw.indexAdd_(0, flat, g.reshape([-1, weight.shape[1]]))
        return [gw]
    }
}
