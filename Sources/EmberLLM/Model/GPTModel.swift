import EmberCore
import EmberNN

/// The book's GPT model (chapter 4.6): token + position embeddings, `nLayers` transformer
/// blocks, a final LayerNorm and a bias-free output head.
///
/// ```swift
/// manualSeed(123)
/// let model = GPTModel(.gpt2Small124M)          // the book's weights, bit for bit
/// let logits = model(batch)                      // [2, 4] int64 -> [2, 4, 50257] float32
/// ```
/// State dict: `tok_emb.weight`, `pos_emb.weight`, `trf_blocks.{i}.att.mask`, `…att.W_query.weight`,
/// …, `final_norm.scale`, `final_norm.shift`, `out_head.weight` — the book's keys in its order
/// (173 entries for `.gpt2Small124M`). Construction draws in the book's order (tok_emb, pos_emb,
/// each block's attention then feed-forward Linears, out_head), so `manualSeed(123)` gives
/// PyTorch's weights. `device: .meta` builds the shapes only (parameter counts, no memory).
/// - Errors: input longer than `contextLength` raises a `ValueError` naming both lengths (bug case B19, docs/cases.md).
///
/// KV cache (book chapter 4 bonus "KV cache"): `model(ids, useCache: true)` embeds the new tokens at
/// positions `currentPos ..< currentPos + T` and appends their keys and values to every block's
/// cache; ``resetKVCache()`` starts over. Positions past `contextLength − 1` are a `ValueError`
/// (bug case B20, docs/cases.md); ``generateTextSimpleCached(model:idx:maxNewTokens:contextSize:)`` slides the window.
public final class GPTModel: Module, UnaryLayer {
    /// Token embeddings `[vocabSize, embDim]`.
    @Child public var tok_emb: Embedding
    /// Position embeddings `[contextLength, embDim]`.
    @Child public var pos_emb: Embedding
    /// Dropout on the summed embeddings.
    @Child public var drop_emb: Dropout
    /// `nLayers` ``TransformerBlock``s, children `0…`.
    @Child public var trf_blocks: Sequential
    /// The last LayerNorm.
    @Child public var final_norm: GPTLayerNorm
    /// Output projection `embDim → vocabSize`, no bias; any ``LinearLayer``: chapter 6 replaces it
    /// by a `Linear(embDim, numClasses)`, appendix E wraps it in a `LinearWithLoRA`.
    @Child public var out_head: any LinearLayer
    /// The configuration the model was built with.
    public let config: GPTConfig
    /// Tokens fed with `useCache: true` since the last ``resetKVCache()`` (the book's `current_pos`).
    public private(set) var currentPos = 0

    /// - Parameters: `cfg` sizes; `device: .meta` builds shapes only (no memory, no draws).
    public init(_ cfg: GPTConfig, device: Device = .cpu) {
        config = cfg
        tok_emb = Embedding(cfg.vocabSize, cfg.embDim, device: device)
        pos_emb = Embedding(cfg.contextLength, cfg.embDim, device: device)
        drop_emb = Dropout(cfg.dropRate)
        trf_blocks = Sequential((0..<cfg.nLayers).map { _ in TransformerBlock(cfg, device: device) })
        final_norm = GPTLayerNorm(cfg.embDim, device: device)
        out_head = Linear(cfg.embDim, cfg.vocabSize, bias: false, device: device)
        super.init()
    }

    /// - Parameter inIdx: token ids `[B, T]` int64, `T ≤ contextLength`.
    /// - Returns: logits `[B, T, vocabSize]` float32.
    public func callAsFunction(_ inIdx: Tensor) -> Tensor { callAsFunction(inIdx, useCache: false) }

    /// - Parameters: `inIdx` token ids `[B, T]` int64; `useCache` continues from the KV cache
    ///   (positions `currentPos ..< currentPos + T`, which must end by `contextLength`).
    /// - Returns: logits `[B, T, vocabSize]` float32.
    public func callAsFunction(_ inIdx: Tensor, useCache: Bool) -> Tensor {
        let (b, seqLen) = (inIdx.shape[0], inIdx.shape[1])
        let start = useCache ? currentPos : 0
        guard start + seqLen <= config.contextLength else {
            let what = useCache ? "\(seqLen) new tokens after \(start) cached ones (positions up to \(start + seqLen - 1))" : "a sequence of \(seqLen) tokens"
            return EmberError(.value, "GPTModel got \(what) but context_length is \(config.contextLength); crop the input to its last \(config.contextLength) tokens\(useCache ? " after resetKVCache()" : "")").raise(shape: [b, seqLen, config.vocabSize])
        }
        if useCache { currentPos += seqLen }
        let tokEmbeds = tok_emb(inIdx)                                                        // (B, T, embDim)
        let posEmbeds = pos_emb(Tensor.arange(start, start + seqLen, device: inIdx.device))   // (T, embDim)
        var x = drop_emb(tokEmbeds + posEmbeds)                                               // (B, T, embDim)
        if useCache {
            for case let block as TransformerBlock in trf_blocks.children() { x = block(x, useCache: true) }
        } else {
            x = trf_blocks(x)
        }
        x = final_norm(x)
        return out_head(x)                                                                    // (B, T, vocabSize)
    }

    /// Empties every block's KV cache and sets ``currentPos`` to 0 (the book's `reset_kv_cache`).
    public func resetKVCache() {
        for case let block as TransformerBlock in trf_blocks.children() { block.att.resetCache() }
        currentPos = 0
    }
}
