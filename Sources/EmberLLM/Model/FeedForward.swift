import EmberCore
import EmberNN

/// The book's position-wise feed-forward network (chapter 4.3):
/// `layers = Sequential(Linear(emb, 4·emb), GELU(), Linear(4·emb, emb))`.
///
/// State-dict keys `layers.0.weight`, `layers.0.bias`, `layers.2.weight`, `layers.2.bias` (index 1
/// is the parameter-free GELU). Input `[*, embDim]`, output the same shape.
/// The GELU is the book's tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`,
/// computed by EmberNN's fused `GELU(approximate: "tanh")` (one pass forward and backward instead
/// of the eight temporaries of the written-out formula; equal to it within float32 rounding).
public final class FeedForward: Module, UnaryLayer {
    /// `Linear(embDim, 4·embDim)`, `GELU`, `Linear(4·embDim, embDim)`.
    @Child public var layers: Sequential

    /// - Parameters: `embDim` input and output size; `device: .meta` builds shapes only.
    public init(embDim: Int, device: Device = .cpu) {
        layers = Sequential(
            Linear(embDim, 4 * embDim, device: device),
            GELU(approximate: "tanh"),
            Linear(4 * embDim, embDim, device: device))
        super.init()
    }

    /// `(B, T, embDim) -> (B, T, 4·embDim) -> (B, T, embDim)`.
    public func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}
