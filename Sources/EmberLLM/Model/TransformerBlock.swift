import EmberCore
import EmberNN

/// The book's pre-LayerNorm transformer block (chapter 4.5): attention and feed-forward, each
/// behind a LayerNorm and wrapped in a dropout-then-add shortcut.
///
/// Children in the book's order: `att`, `ff`, `norm1`, `norm2`, `drop_shortcut`. Input and output
/// `[B, T, embDim]`. In training mode dropout draws happen in the book's order: attention weights,
/// the shortcut after attention, the shortcut after the feed-forward.
public final class TransformerBlock: Module, UnaryLayer {
    /// Causal multi-head self-attention.
    @Child public var att: MultiHeadAttention
    /// Position-wise feed-forward network.
    @Child public var ff: FeedForward
    /// LayerNorm before attention.
    @Child public var norm1: GPTLayerNorm
    /// LayerNorm before the feed-forward network.
    @Child public var norm2: GPTLayerNorm
    /// Dropout on each branch before its shortcut add.
    @Child public var drop_shortcut: Dropout

    /// - Parameters: `cfg` gives sizes and dropout; `device: .meta` builds shapes only.
    public init(_ cfg: GPTConfig, device: Device = .cpu) {
        att = MultiHeadAttention(dIn: cfg.embDim, dOut: cfg.embDim, contextLength: cfg.contextLength,
                                 dropout: cfg.dropRate, numHeads: cfg.nHeads, qkvBias: cfg.qkvBias, device: device)
        ff = FeedForward(embDim: cfg.embDim, device: device)
        norm1 = GPTLayerNorm(cfg.embDim, device: device)
        norm2 = GPTLayerNorm(cfg.embDim, device: device)
        drop_shortcut = Dropout(cfg.dropRate)
        super.init()
    }

    /// `(B, T, embDim) -> (B, T, embDim)`, without the KV cache.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, useCache: false) }

    /// `(B, T, embDim) -> (B, T, embDim)`; `useCache` is passed to the attention's KV cache (book
    /// chapter 4 bonus "KV cache").
    public func callAsFunction(_ x: Tensor, useCache: Bool) -> Tensor {     // (B, T, embDim)
        var shortcut = x
        var h = drop_shortcut(att(norm1(x), useCache: useCache))
        h = h + shortcut
        shortcut = h
        h = drop_shortcut(ff(norm2(h)))
        return h + shortcut
    }
}
