import EmberCore
import EmberNN

extension GPTModel {
    /// The book's model surgery for classification (chapter 6 §6.5), in its order: every parameter
    /// frozen (`requires_grad = False`), `torch.manual_seed(seed)`, a new
    /// `out_head = Linear(emb_dim, numClasses)` (with bias; its draws are PyTorch's), then the last
    /// transformer block and `final_norm` made trainable again. The new head is trainable as made.
    ///
    /// Afterwards only those parameters record gradients, so a training step builds no autograd
    /// graph for the embeddings and the frozen blocks and its backward never runs through them
    /// (an op records a node only when one of its inputs requires grad).
    /// - Parameters: `numClasses` ≥ 1 (2 for spam / not spam); `seed` the global seed before the head (the book: 123).
    public func prepareForClassification(numClasses: Int = 2, seed: UInt64 = 123) {
        precondition(numClasses >= 1, "numClasses must be at least 1, got \(numClasses)")
        requiresGrad_(false)
        manualSeed(seed)
        out_head = Linear(config.embDim, numClasses, device: tok_emb.weight.device)
        trf_blocks.children().last?.requiresGrad_(true)
        final_norm.requiresGrad_(true)
    }

    /// The logits of the last token, `model(inputIds)[:, -1, :]` (chapter 6 §6.5). The whole forward
    /// runs: computing the head on the last token alone is cheaper but takes another matrix-product
    /// path (a 1-row product) whose float32 rounding differs from the full forward's in the last bits,
    /// and the head is 2 outputs wide, so it saves almost nothing.
    /// - Parameter inputIds: `[B, T]` int64 token ids, `T ≤ contextLength`.
    /// - Returns: `[B, numClasses]` float32 (the head's output size).
    public func lastTokenLogits(_ inputIds: Tensor) -> Tensor {
        let logits = self(inputIds)                                                              // (B, T, numClasses)
        return logits.select(1, logits.shape[1] - 1)                                             // (B, numClasses)
    }
}
