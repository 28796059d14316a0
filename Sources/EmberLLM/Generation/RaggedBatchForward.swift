import EmberCore
import EmberNN

/// A ``GPTModel`` forward over a batch of sequences of different lengths, with a KV cache of its own
/// (the model's cache and ``GPTModel/currentPos`` are not touched): what
/// ``generateBatched(model:prompts:maxNewTokens:contextSize:eosId:batchSize:onToken:)`` runs.
///
/// Rows are **left-padded** to a common width, so every row's newest token sits in the same column
/// and one `[B, 1]` step feeds them all. Row `b` has `pads[b]` padding columns; its token in column
/// `c ≥ pads[b]` is at position `c − pads[b]` (`pos_emb` row) — the position it has when the row is
/// run alone — and attends only to its own columns `pads[b] … c`: the padding is masked with −∞
/// before the softmax, which makes its weights exactly 0. (A padding column attends to itself only,
/// so its values stay finite and `0 · value` stays 0.) Each row therefore computes what the
/// single-row forward (``GPTModel/callAsFunction(_:useCache:)``) computes, up to float32 rounding
/// of sums of different lengths. The attention is the book's (chapter 3.6.2, `MultiHeadAttention`);
/// dropout layers are called as there (identity in eval mode).
final class RaggedBatchForward {
    let model: GPTModel
    /// Per block: keys and values `[B, nHeads, capacity, headDim]`, columns `..< filled` valid.
    private var cacheK: [Tensor] = [], cacheV: [Tensor] = []
    /// Left padding per row.
    private(set) var pads: [Int] = []
    /// Columns written to the cache.
    private(set) var filled = 0
    /// Columns the cache holds.
    private(set) var capacity = 0

    init(model: GPTModel) { self.model = model }

    /// Starts over with `rows` (each non-empty, at most `contextLength` ids), left-padded to the
    /// longest; the cache gets room for `capacity` (≥ the longest row) columns.
    /// - Returns: the logits of every row's last token, `[B, vocab]`.
    func prefill(_ rows: [[Int]], capacity: Int) -> Tensor {
        let width = rows.map(\.count).max() ?? 0
        pads = rows.map { width - $0.count }
        filled = 0
        self.capacity = Swift.max(capacity, width)
        let blocks = model.trf_blocks.children().compactMap { $0 as? TransformerBlock }
        cacheK = blocks.map { _ in Tensor.empty([0]) }
        cacheV = cacheK
        let ids = rows.flatMap { Array(repeating: 0, count: width - $0.count) + $0 }.map(Int64.init)
        let positions = pads.flatMap { pad in (0..<width).map { Int64(Swift.max(0, $0 - pad)) } }
        // masked(b, q, k) = k > q (causal) or k is padding other than q itself.
        var mask = [Bool](repeating: false, count: rows.count * width * width)
        for (b, pad) in pads.enumerated() {
            for q in 0..<width {
                for k in 0..<width where k > q || (k < pad && k != q) { mask[(b * width + q) * width + k] = true }
            }
        }
        return forward(Tensor(array: ids, shape: [rows.count, width]), positions: Tensor(array: positions, shape: [rows.count, width]),
                       mask: Tensor(array: mask, shape: [rows.count, 1, width, width]))
    }

    /// Feeds one new token per row (`tokens[b]` in column ``filled``), `filled < capacity`.
    /// - Returns: `[B, vocab]` logits.
    func step(_ tokens: [Int]) -> Tensor {
        let b = tokens.count, keys = filled + 1
        let positions = pads.map { Int64(filled - $0) }
        var mask = [Bool](repeating: false, count: b * keys)
        for (r, pad) in pads.enumerated() { for k in 0..<pad { mask[r * keys + k] = true } }
        return forward(Tensor(array: tokens.map(Int64.init), shape: [b, 1]), positions: Tensor(array: positions, shape: [b, 1]),
                       mask: Tensor(array: mask, shape: [b, 1, 1, keys]))
    }

    /// Keeps only the rows at `rows` (in that order), in the cache too.
    func keep(_ rows: [Int]) {
        let index = Tensor(array: rows.map(Int64.init), shape: [rows.count])
        cacheK = cacheK.map { $0.indexSelect(0, index) }
        cacheV = cacheV.map { $0.indexSelect(0, index) }
        pads = rows.map { pads[$0] }
    }

    /// The model on `ids [B, T]` at `positions [B, T]` with the attention `mask [B, 1, T, filled + T]`
    /// (true = not attended); appends the keys and values at column ``filled``.
    /// - Returns: the last column's logits, `[B, vocab]`.
    private func forward(_ ids: Tensor, positions: Tensor, mask: Tensor) -> Tensor {
        noGrad {
            let (b, t) = (ids.shape[0], ids.shape[1])
            var x = model.drop_emb(model.tok_emb(ids) + model.pos_emb(positions))     // (B, T, embDim)
            for case (let i, let block as TransformerBlock) in model.trf_blocks.children().enumerated() {
                let shortcut = x
                x = block.drop_shortcut(attention(block.att, block.norm1(x), layer: i, mask: mask)) + shortcut
                x = block.drop_shortcut(block.ff(block.norm2(x))) + x
            }
            filled += t
            let last = model.final_norm(x.select(1, t - 1).reshape([b, 1, -1]))      // (B, 1, embDim)
            return model.out_head(last).select(1, 0)                                 // (B, vocab)
        }
    }

    /// `MultiHeadAttention.callAsFunction(_:useCache:)` with per-row masks: `(B, T, dIn) -> (B, T, dOut)`.
    private func attention(_ att: MultiHeadAttention, _ x: Tensor, layer: Int, mask: Tensor) -> Tensor {
        let (b, t, h, d) = (x.shape[0], x.shape[1], att.numHeads, att.headDim)
        let keys = att.W_key(x).view(b, t, h, d).transpose(1, 2)                      // (B, nH, T, hD)
        let queries = att.W_query(x).view(b, t, h, d).transpose(1, 2)
        let values = att.W_value(x).view(b, t, h, d).transpose(1, 2)
        if filled == 0 {
            cacheK[layer] = Tensor.empty([b, h, capacity, d], dtype: keys.dtype, device: keys.device)
            cacheV[layer] = Tensor.empty([b, h, capacity, d], dtype: values.dtype, device: values.device)
        }
        _ = cacheK[layer].narrow(2, start: filled, length: t).copy_(keys)
        _ = cacheV[layer].narrow(2, start: filled, length: t).copy_(values)
        let allKeys = cacheK[layer].narrow(2, start: 0, length: filled + t)           // (B, nH, filled + T, hD)
        let allValues = cacheV[layer].narrow(2, start: 0, length: filled + t)
        let scores = queries.matmul(allKeys.transpose(2, 3))                          // (B, nH, T, filled + T)
        scores.maskedFill_(mask, -Double.infinity)
        let weights = att.dropout(softmax(scores / Double(d).squareRoot(), dim: -1))
        let context = weights.matmul(allValues).transpose(1, 2).contiguous().view(b, t, att.dOut)   // (B, T, dOut)
        return att.out_proj(context)
    }
}
