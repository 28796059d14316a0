import EmberCore
import EmberNN

/// The book's `LayerNorm` (chapter 4.2): `scale · (x − mean) / √(var + eps) + shift` over the last
/// dimension, with the biased variance (`unbiased=False`) and `eps = 1e-5`.
///
/// Parameters `scale` (ones) and `shift` (zeros), both `[embDim]` float32: those are the
/// state-dict keys of the book's checkpoints (`norm1.scale`, `final_norm.shift`). Input `[*, embDim]`,
/// output the same shape. Makes no random draws.
///
/// It is `GPTLayerNorm` in Swift because `EmberNN.LayerNorm` is PyTorch's `nn.LayerNorm`
/// (`weight`/`bias`) and both are visible through `import Ember`; it prints as `LayerNorm()`.
public final class GPTLayerNorm: Module, UnaryLayer {
    /// Multiplier `[embDim]`, initialised to ones.
    @Parameter public var scale: Tensor
    /// Offset `[embDim]`, initialised to zeros.
    @Parameter public var shift: Tensor
    /// Added to the variance (1e-5).
    public let eps: Double

    /// - Parameters: `embDim` is the normalised (last) dimension; `device: .meta` builds shapes only.
    public init(_ embDim: Int, eps: Double = 1e-5, device: Device = .cpu) {
        self.eps = eps
        scale = Tensor.ones([embDim], device: device)
        shift = Tensor.zeros([embDim], device: device)
        super.init()
    }

    /// Prints as the book's class (`LayerNorm()`).
    public override var typeName: String { "LayerNorm" }

    /// `[*, embDim] -> [*, embDim]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let mean = x.mean(-1, keepdim: true)
        let variance = x.var(-1, unbiased: false, keepdim: true)
        let normX = (x - mean) / (variance + eps).sqrt()
        return scale * normX + shift
    }
}
