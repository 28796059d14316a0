import EmberCore
import EmberNN

/// The book's `CausalAttention` (chapter 3.5), written the Swift way: the mask is a buffer.
final class CausalAttention: Module {
    @Child var W_query: Linear
    @Child var W_key: Linear
    @Child var W_value: Linear
    @Child var dropout: Dropout
    @Buffer var mask: Tensor            // moves with to(device), saved in stateDict()

    init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor {          // x: [batch, numTokens, dIn]
        let numTokens = x.shape[1]
        let keys = W_key(x), queries = W_query(x), values = W_value(x)
        let scores = queries.matmul(keys.transpose(1, 2))   // [batch, numTokens, numTokens]
        scores.maskedFill_(mask.bool()[..<numTokens, ..<numTokens], -Double.infinity)
        let weights = dropout(softmax(scores / Double(keys.shape[keys.ndim - 1]).squareRoot(), dim: -1))
        return weights.matmul(values)                       // [batch, numTokens, dOut]
    }
}

/// The six 3-dimensional token embeddings of "Your journey starts with one step" (chapter 3.3).
func bookInputs() -> Tensor {
    Tensor([[0.43, 0.15, 0.89],   // Your     (x^1)
            [0.55, 0.87, 0.66],   // journey  (x^2)
            [0.57, 0.85, 0.64],   // starts   (x^3)
            [0.22, 0.58, 0.33],   // with     (x^4)
            [0.77, 0.25, 0.10],   // one      (x^5)
            [0.05, 0.80, 0.55]])  // step     (x^6)
}

/// Case C22: `manual_seed(123)`, three `Linear(3, 2, bias=False)` weights, causal attention on a
/// batch of two copies of the inputs; prints the context vectors and their shape.
func runAttentionExample() {
    let inputs = bookInputs()
    let batch = Tensor.stack([inputs, inputs], dim: 0)
    print(batch.sizeDescription)
    manualSeed(123)
    let ca = CausalAttention(dIn: 3, dOut: 2, contextLength: batch.shape[1], dropout: 0.0)
    let contextVecs = ca(batch)
    print(contextVecs)
    print("context_vecs.shape:", contextVecs.sizeDescription)
}
