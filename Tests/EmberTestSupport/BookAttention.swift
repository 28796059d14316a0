import EmberCore
import EmberNN

// The book's causal-attention classes as the tests use them: §3.5.3 `CausalAttention` and the seed
// notebook's two variants ("Understanding PyTorch Buffers", book ch. 3,
// https://github.com/rasbt/LLMs-from-scratch/blob/main/ch03/03_understanding-buffers/understanding-buffers.ipynb),
// written the Swift way. Their names are the ones in PyTorch's error messages, so each keeps its own class.

/// The notebook's first class: `mask` is a plain property, so it is neither moved nor saved.
public final class CausalAttentionWithoutBuffers: Module {
    @Child public var W_query: Linear
    @Child public var W_key: Linear
    @Child public var W_value: Linear
    @Child public var dropout: Dropout
    public var mask: Tensor

    public init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { causalAttention(x, W_query, W_key, W_value, dropout, mask) }
}

/// The notebook's second class: `mask` is a buffer (moved with the module, saved in `stateDict()`).
/// The same code as ``CausalAttention``, under the notebook's name.
public final class CausalAttentionWithBuffer: Module {
    @Child public var W_query: Linear
    @Child public var W_key: Linear
    @Child public var W_value: Linear
    @Child public var dropout: Dropout
    @Buffer public var mask: Tensor

    public init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { causalAttention(x, W_query, W_key, W_value, dropout, mask) }
}

/// Book §3.5.3 `CausalAttention` with a registered `mask` buffer.
public final class CausalAttention: Module {
    @Child public var W_query: Linear
    @Child public var W_key: Linear
    @Child public var W_value: Linear
    @Child public var dropout: Dropout
    @Buffer public var mask: Tensor            // moves with to(device), saved in stateDict()

    public init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { causalAttention(x, W_query, W_key, W_value, dropout, mask) }
}

/// The book's forward pass. x: [batch, numTokens, dIn] → [batch, numTokens, dOut].
private func causalAttention(_ x: Tensor, _ wq: Linear, _ wk: Linear, _ wv: Linear, _ dropout: Dropout, _ mask: Tensor) -> Tensor {
    let numTokens = x.shape[1]
    let keys = wk(x), queries = wq(x), values = wv(x)
    let scores = queries.matmul(keys.transpose(1, 2))            // [batch, numTokens, numTokens]
    scores.maskedFill_(mask.bool()[..<numTokens, ..<numTokens], -Double.infinity)
    let weights = dropout(softmax(scores / Double(keys.shape[2]).squareRoot(), dim: -1))
    return weights.matmul(values)                                // [batch, numTokens, dOut]
}
