import EmberCore
import EmberNN

/// A KV cache for continuous batching: `slots` independent rows, each with its own length, so
/// sequences of different lengths decode together in one forward pass and join or leave between
/// steps (the scheduling of vLLM and llama.cpp's server; Yu et al., "Orca", OSDI 2022,
/// https://www.usenix.org/conference/osdi22/presentation/yu).
///
/// Per block it holds keys and values `[slots, nHeads, contextLength, headDim]` (the model's dtype
/// and device), allocated on first use. A slot's positions `0 ..< length(slot)` are filled; a
/// released slot is reused from position 0. The book's single-sequence cache (chapter 4 bonus
/// "KV cache", ``MultiHeadAttention``'s `cache_k`/`cache_v`) is not touched: both can coexist.
///
/// Use with ``GPTModel/prefill(_:slot:cache:)`` (a new sequence) and
/// ``GPTModel/decodeStep(_:slots:cache:)`` (one token for each running sequence). For inference only
/// (no gradients are recorded). Not thread-safe: one thread drives the model and its cache.
public final class RaggedKVCache {
    /// Number of rows (the largest batch).
    public let slots: Int
    /// The model's `context_length`: the most positions a slot holds.
    public let contextLength: Int
    private var keys: [Tensor?]
    private var values: [Tensor?]
    private var lengths: [Int]

    /// - Parameters: `model` gives the number of blocks and the context length; `slots ≥ 1` rows.
    public init(model: GPTModel, slots: Int) {
        self.slots = Swift.max(1, slots)
        contextLength = model.config.contextLength
        keys = Array(repeating: nil, count: model.config.nLayers)
        values = Array(repeating: nil, count: model.config.nLayers)
        lengths = Array(repeating: 0, count: self.slots)
    }

    /// Cached positions of `slot`.
    public func length(_ slot: Int) -> Int { lengths[slot] }

    /// Empties `slot` (its next sequence starts at position 0).
    public func release(_ slot: Int) { lengths[slot] = 0 }

    /// Writes one row's new keys and values `(1, nH, T, hD)` at the slot's current length and
    /// returns views of all its positions `(1, nH, length + T, hD)`; the length advances in
    /// ``advance(_:by:)`` after every block has written.
    fileprivate func append(layer: Int, slot: Int, keys k: Tensor, values v: Tensor) -> (Tensor, Tensor) {
        if keys[layer] == nil || keys[layer]!.dtype != k.dtype || keys[layer]!.device != k.device {
            let shape = [slots, k.shape[1], contextLength, k.shape[3]]
            keys[layer] = Tensor.empty(shape, dtype: k.dtype, device: k.device)
            values[layer] = Tensor.empty(shape, dtype: v.dtype, device: v.device)
        }
        let (start, n) = (lengths[slot], k.shape[2])
        let rowK = keys[layer]!.narrow(0, start: slot, length: 1), rowV = values[layer]!.narrow(0, start: slot, length: 1)
        rowK.narrow(2, start: start, length: n).copy_(k)
        rowV.narrow(2, start: start, length: n).copy_(v)
        return (rowK.narrow(2, start: 0, length: start + n), rowV.narrow(2, start: 0, length: start + n))
    }

    fileprivate func advance(_ slot: Int, by n: Int) { lengths[slot] += n }
}

/// What a ragged forward pass can refuse (nothing is written to the cache then).
public enum RaggedBatchError: Error, Equatable, CustomStringConvertible {
    /// `positions` tokens would not fit the slot: its length plus the new tokens exceed `contextLength`.
    case contextFull(slot: Int, length: Int, newTokens: Int, contextLength: Int)
    /// A slot index outside `0 ..< slots`, a slot listed twice, or an empty input.
    case badSlots(String)

    public var description: String {
        switch self {
        case let .contextFull(slot, length, newTokens, contextLength):
            return "slot \(slot) holds \(length) positions; \(newTokens) more exceed context_length \(contextLength)"
        case let .badSlots(detail): return detail
        }
    }
}

extension GPTModel {
    /// Feeds a new sequence's prompt into an empty (or partly filled) slot of `cache`, as
    /// `model(ids, useCache: true)` does for the book's cache (chapter 4 bonus "KV cache").
    /// - Parameters: `ids` the prompt's token ids (non-empty); `slot` the row; `cache` built for this model.
    /// - Returns: the logits of the last prompt position, `[1, vocabSize]` float32 (the model's dtype).
    /// - Throws: ``RaggedBatchError`` when the prompt does not fit the slot or `ids` is empty.
    /// Call `eval()` first (dropout off).
    public func prefill(_ ids: [Int], slot: Int, cache: RaggedKVCache) throws -> Tensor {
        guard !ids.isEmpty else { throw RaggedBatchError.badSlots("prefill needs at least one token") }
        let input = Tensor(array: ids.map(Int64.init), shape: [1, ids.count]).to(tok_emb.weight.device)
        let logits = try raggedForward(input, slots: [slot], cache: cache)            // (1, T, vocab)
        return logits.select(1, ids.count - 1)                                         // (1, vocab)
    }

    /// One decoding step for several running sequences at once: `tokens[i]` is appended to slot
    /// `slots[i]` at that slot's next position, in one forward pass (the linear layers see all rows
    /// as one batch; attention runs per row over the row's own cached positions, so each row's
    /// values equal a batch-of-one run).
    /// - Parameters: `tokens` one id per row; `slots` distinct slot indices, same count.
    /// - Returns: next-token logits `[tokens.count, vocabSize]`.
    /// - Throws: ``RaggedBatchError`` for a full slot, repeated or out-of-range slots.
    public func decodeStep(_ tokens: [Int], slots: [Int], cache: RaggedKVCache) throws -> Tensor {
        guard tokens.count == slots.count, !tokens.isEmpty else {
            throw RaggedBatchError.badSlots("decodeStep needs one token per slot, got \(tokens.count) tokens for \(slots.count) slots")
        }
        let input = Tensor(array: tokens.map(Int64.init), shape: [tokens.count, 1]).to(tok_emb.weight.device)
        return try raggedForward(input, slots: slots, cache: cache).select(1, 0)      // (B, vocab)
    }

    /// `(B, T)` ids, row `i` continuing slot `slots[i]` → `(B, T, vocab)` logits; every row's
    /// length advances by `T`.
    private func raggedForward(_ ids: Tensor, slots: [Int], cache: RaggedKVCache) throws -> Tensor {
        let (b, t) = (ids.shape[0], ids.shape[1])
        guard Set(slots).count == slots.count, slots.allSatisfy({ (0..<cache.slots).contains($0) }) else {
            throw RaggedBatchError.badSlots("slots \(slots) must be distinct and in 0..<\(cache.slots)")
        }
        for slot in slots where cache.length(slot) + t > config.contextLength {
            throw RaggedBatchError.contextFull(slot: slot, length: cache.length(slot), newTokens: t, contextLength: config.contextLength)
        }
        let starts = slots.map(cache.length)
        let positions = Tensor(array: starts.flatMap { s in (s ..< s + t).map(Int64.init) }, shape: [b, t]).to(ids.device)
        let logits = noGrad { () -> Tensor in
            var x = drop_emb(tok_emb(ids) + pos_emb(positions))                        // (B, T, embDim)
            for case let (layer, block as TransformerBlock) in trf_blocks.children().enumerated() {
                let attended = raggedAttention(block.att, block.norm1(x), layer: layer, slots: slots, starts: starts, cache: cache)
                x = x + block.drop_shortcut(attended)
                x = x + block.drop_shortcut(block.ff(block.norm2(x)))
            }
            return out_head(final_norm(x))                                             // (B, T, vocab)
        }
        for slot in slots { cache.advance(slot, by: t) }
        return logits
    }

    /// ``MultiHeadAttention``'s cached forward, with each row reading its own slot.
    private func raggedAttention(_ att: MultiHeadAttention, _ x: Tensor, layer: Int, slots: [Int], starts: [Int],
                                 cache: RaggedKVCache) -> Tensor {
        let (b, t, nH, hD) = (x.shape[0], x.shape[1], att.numHeads, att.headDim)
        let queries = att.W_query(x).view(b, t, nH, hD).transpose(1, 2)               // (B, nH, T, hD)
        let keys = att.W_key(x).view(b, t, nH, hD).transpose(1, 2)
        let values = att.W_value(x).view(b, t, nH, hD).transpose(1, 2)
        let scale = Double(hD).squareRoot()
        var rows: [Tensor] = []
        for (i, slot) in slots.enumerated() {
            let (k, v) = cache.append(layer: layer, slot: slot, keys: keys.narrow(0, start: i, length: 1),
                                      values: values.narrow(0, start: i, length: 1))   // (1, nH, start + T, hD)
            let numKeys = starts[i] + t
            let scores = queries.narrow(0, start: i, length: 1).matmul(k.transpose(2, 3))   // (1, nH, T, start + T)
            scores.maskedFill_(att.mask[starts[i]..<numKeys, ..<numKeys].bool(), -Double.infinity)
            let weights = att.dropout(softmax(scores / scale, dim: -1))
            rows.append(weights.matmul(v))                                             // (1, nH, T, hD)
        }
        let context = Tensor.cat(rows, dim: 0).transpose(1, 2).contiguous().view(b, t, att.dOut)   // (B, T, dOut)
        return att.out_proj(context)
    }
}
