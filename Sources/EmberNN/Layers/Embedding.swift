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
        Init.normal_(w)   // drawn from the CPU generator on every device (none on meta), as PyTorch's CPU generator
        self.weight = w
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { embedding(x, weight: weight) }

    public override var extraRepr: String { "\(numEmbeddings), \(embeddingDim)" }
}

/// `F.embedding(indices, weight)`: rows of `weight` at `indices` (`EmbeddingBackward0`).
/// The indices are read to the host once per call (bounds check and row selection; the backward
/// reuses them): ``EmberCore/Tensor/embeddingRows(_:)``.
/// - Errors: non-integer indices; an index outside `0..<weight.size(0)` ("index out of range in self").
public func embedding(_ indices: Tensor, weight: Tensor) -> Tensor {
    guard indices.dtype == .int64 || indices.dtype == .int32 else {
        return EmberError(.runtime, "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.\(indices.dtype.scalarTypeName)Tensor instead (while checking arguments for embedding)").raise(shape: indices.shape + [weight.shape.last ?? 0])
    }
    return weight.embeddingRows(indices)
}
