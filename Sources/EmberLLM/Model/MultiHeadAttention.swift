import EmberCore
import EmberNN

/// The book's causal multi-head self-attention (chapter 3.6.2, `MultiHeadAttention`).
///
/// Input `[B, T, dIn]` float32 with `T ≤ contextLength`; output `[B, T, dOut]`.
/// State-dict keys, in PyTorch's order: `mask` (persistent buffer, `triu(ones, 1)`, float32
/// `[contextLength, contextLength]`), `W_query.weight`, `W_key.weight`, `W_value.weight` (plus
/// `.bias` when `qkvBias`), `out_proj.weight`, `out_proj.bias`. Construction draws from the global
/// generator in that order (W_query, W_key, W_value, out_proj), as PyTorch does.
/// - Errors: `T > contextLength` raises a `ValueError` naming both lengths (bug case B19)
///   instead of slicing a smaller mask than the scores.
public final class MultiHeadAttention: Module, UnaryLayer {
    /// Causal mask `[contextLength, contextLength]` float32, 1 above the diagonal (`triu(ones, 1)`).
    @Buffer public var mask: Tensor
    /// Query projection `dIn → dOut`.
    @Child public var W_query: Linear
    /// Key projection `dIn → dOut`.
    @Child public var W_key: Linear
    /// Value projection `dIn → dOut`.
    @Child public var W_value: Linear
    /// Output projection `dOut → dOut` (with bias) combining the heads.
    @Child public var out_proj: Linear
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

    /// `(B, T, dIn) -> (B, T, dOut)`; see the type's documentation for errors.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, numTokens) = (x.shape[0], x.shape[1])
        guard numTokens <= mask.shape[0] else {
            return EmberError(.value, "MultiHeadAttention got \(numTokens) tokens but its causal mask covers context_length=\(mask.shape[0]); crop the input to the last \(mask.shape[0]) tokens").raise(shape: [b, numTokens, dOut])
        }
        // Split the last dim into heads and move heads before tokens: (B, T, dOut) -> (B, nH, T, hD).
        let keys = W_key(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let queries = W_query(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let values = W_value(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)

        let attnScores = queries.matmul(keys.transpose(2, 3))        // (B, nH, T, T)
        // Slicing before `.bool()` converts T×T elements instead of the whole buffer; same mask.
        let maskBool = mask[..<numTokens, ..<numTokens].bool()
        attnScores.maskedFill_(maskBool, -Double.infinity)
        let scale = Double(keys.shape[3]).squareRoot()                // keys.shape[-1]**0.5
        let attnWeights = dropout(softmax(attnScores / scale, dim: -1))

        let contextVec = attnWeights.matmul(values).transpose(1, 2)   // (B, T, nH, hD)
            .contiguous().view(b, numTokens, dOut)                    // (B, T, dOut)
        return out_proj(contextVec)
    }
}
