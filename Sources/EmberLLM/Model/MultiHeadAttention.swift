import EmberCore
import EmberNN

/// The book's causal multi-head self-attention (chapter 3.6.2, `MultiHeadAttention`).
///
/// Input `[B, T, dIn]` float32 with `T ≤ contextLength`; output `[B, T, dOut]`.
/// State-dict keys, in PyTorch's order: `mask` (persistent buffer, `triu(ones, 1)`, float32
/// `[contextLength, contextLength]`), `W_query.weight`, `W_key.weight`, `W_value.weight` (plus
/// `.bias` when `qkvBias`), `out_proj.weight`, `out_proj.bias`. Construction draws from the global
/// generator in that order (W_query, W_key, W_value, out_proj), as PyTorch does.
/// - Errors: `T > contextLength` raises a `ValueError` naming both lengths (bug case B19, docs/cases.md)
///   instead of slicing a smaller mask than the scores.
///
/// **KV cache** (book chapter 4 bonus "KV cache", `gpt_with_kv_cache.py`): with `useCache: true`
/// the keys and values of the new tokens are kept in the non-persistent buffers ``cache_k`` and
/// ``cache_v`` (absent until first used, never in `stateDict()`, moved by `to(_:)`), and the new
/// queries attend to every cached key plus the causal part among themselves
/// (`mask[ptr ..< ptr + T, ..< ptr + T]`). ``resetCache()`` empties it. Unlike the book's
/// `torch.cat` per step, the buffers are allocated once at `contextLength` positions and filled in
/// place (no O(n²) copying); the values computed are the same. The cache holds detached tensors:
/// it is for inference (the book uses it under `torch.no_grad()`).
///
/// The four projections are `any LinearLayer`: a ``Linear`` as built, a `LinearWithLoRA` after
/// `replaceLinearWithLoRA` (appendix E).
public final class MultiHeadAttention: Module, UnaryLayer {
    /// Causal mask `[contextLength, contextLength]` float32, 1 above the diagonal (`triu(ones, 1)`).
    @Buffer public var mask: Tensor
    /// Cached keys `[B, numHeads, contextLength, headDim]`, positions `..< ptrCurrentPos` filled;
    /// nil until a `useCache: true` forward (the book's `register_buffer("cache_k", None, persistent=False)`).
    @Buffer(persistent: false) public var cache_k: Tensor?
    /// Cached values, laid out as ``cache_k``.
    @Buffer(persistent: false) public var cache_v: Tensor?
    /// Number of cached positions (the book's `ptr_current_pos`).
    public private(set) var ptrCurrentPos = 0
    /// Query projection `dIn → dOut`.
    @Child public var W_query: any LinearLayer
    /// Key projection `dIn → dOut`.
    @Child public var W_key: any LinearLayer
    /// Value projection `dIn → dOut`.
    @Child public var W_value: any LinearLayer
    /// Output projection `dOut → dOut` (with bias) combining the heads.
    @Child public var out_proj: any LinearLayer
    /// Dropout on the attention weights.
    @Child public var dropout: Dropout
    /// Output size (all heads together).
    public let dOut: Int
    /// Number of heads.
    public let numHeads: Int
    /// `dOut / numHeads`.
    public let headDim: Int

    /// - Parameters:
    ///   - dIn: input features; dOut: output features, divisible by `numHeads` (else a
    ///     `ValueError`, as the book's assert).
    ///   - contextLength: the longest input (side of the causal mask).
    ///   - p: dropout probability on the attention weights.
    ///   - qkvBias: whether the query/key/value projections have biases.
    ///   - device: `.meta` builds shapes only.
    public init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, numHeads: Int,
                qkvBias: Bool = false, device: Device = .cpu) {
        if numHeads <= 0 || dOut % numHeads != 0 { EmberError(.value, "d_out must be divisible by num_heads").raise() }
        self.dOut = dOut
        self.numHeads = numHeads
        self.headDim = numHeads > 0 ? dOut / numHeads : 0
        W_query = Linear(dIn, dOut, bias: qkvBias, device: device)
        W_key = Linear(dIn, dOut, bias: qkvBias, device: device)
        W_value = Linear(dIn, dOut, bias: qkvBias, device: device)
        out_proj = Linear(dOut, dOut, device: device)      // combines the heads' outputs
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength], device: device).triu(diagonal: 1)
        super.init()
    }

    /// `(B, T, dIn) -> (B, T, dOut)`, without the cache; see the type's documentation for errors.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, useCache: false) }

    /// `(B, T, dIn) -> (B, T, dOut)` (the book's `forward(x, use_cache)`). With `useCache`, the
    /// `T` new tokens sit at positions `ptrCurrentPos ..< ptrCurrentPos + T`, which must stay
    /// within `contextLength` (else a `ValueError`); the batch size must match the cached one.
    public func callAsFunction(_ x: Tensor, useCache: Bool) -> Tensor {
        let (b, numTokens) = (x.shape[0], x.shape[1])
        let start = useCache ? ptrCurrentPos : 0, contextLength = mask.shape[0]
        guard start + numTokens <= contextLength else {
            let what = useCache ? "\(numTokens) new tokens after \(start) cached ones" : "\(numTokens) tokens"
            return EmberError(.value, "MultiHeadAttention got \(what) but its causal mask covers context_length=\(contextLength); crop the input to the last \(contextLength) tokens\(useCache ? " after resetCache()" : "")").raise(shape: [b, numTokens, dOut])
        }
        // Split the last dim into heads and move heads before tokens: (B, T, dOut) -> (B, nH, T, hD).
        var keys = W_key(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let queries = W_query(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        var values = W_value(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        if useCache {
            guard let cached = appendToCache(keys, values) else {
                return EmberError(.value, "MultiHeadAttention's KV cache holds \(start) positions of another batch size, dtype or device; call resetCache() first").raise(shape: [b, numTokens, dOut])
            }
            (keys, values) = cached                                   // (B, nH, start + T, hD)
        }
        let numKeys = start + numTokens

        let attnScores = queries.matmul(keys.transpose(2, 3))        // (B, nH, T, start + T)
        // Rows start..<start+T of the causal mask: the new queries see every cached key and the
        // causal part among themselves. Slicing before `.bool()` converts only T×(start+T) elements.
        let maskBool = mask[start..<numKeys, ..<numKeys].bool()
        attnScores.maskedFill_(maskBool, -Double.infinity)
        let scale = Double(keys.shape[3]).squareRoot()                // keys.shape[-1]**0.5
        let attnWeights = dropout(softmax(attnScores / scale, dim: -1))

        let contextVec = attnWeights.matmul(values).transpose(1, 2)   // (B, T, nH, hD)
            .contiguous().view(b, numTokens, dOut)                    // (B, T, dOut)
        return out_proj(contextVec)
    }

    /// Writes the new keys and values `(B, nH, T, hD)` at `ptrCurrentPos` and returns views of
    /// every cached position, `(B, nH, ptrCurrentPos + T, hD)`; advances `ptrCurrentPos` by `T`.
    /// Nil when positions are cached for another batch size, dtype or device.
    private func appendToCache(_ keys: Tensor, _ values: Tensor) -> (Tensor, Tensor)? {
        let (b, numTokens, start) = (keys.shape[0], keys.shape[2], ptrCurrentPos)
        if cache_k == nil || cache_k!.shape[0] != b || cache_k!.dtype != keys.dtype || cache_k!.device != keys.device {
            guard start == 0 else { return nil }
            let shape = [b, numHeads, mask.shape[0], headDim]
            cache_k = Tensor.empty(shape, dtype: keys.dtype, device: keys.device)
            cache_v = Tensor.empty(shape, dtype: values.dtype, device: values.device)
        }
        let (ck, cv) = (cache_k!, cache_v!)
        noGrad {
            ck.narrow(2, start: start, length: numTokens).copy_(keys)
            cv.narrow(2, start: start, length: numTokens).copy_(values)
        }
        ptrCurrentPos += numTokens
        return (ck.narrow(2, start: 0, length: ptrCurrentPos), cv.narrow(2, start: 0, length: ptrCurrentPos))
    }

    /// Empties the KV cache (the book's `reset_cache`): ``cache_k`` and ``cache_v`` become nil and
    /// ``ptrCurrentPos`` 0.
    public func resetCache() {
        cache_k = nil
        cache_v = nil
        ptrCurrentPos = 0
    }
}
