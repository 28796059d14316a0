import EmberCore
import EmberNN

/// The book's greedy decoding loop (chapter 4.7, `generate_text_simple`).
///
/// Each step feeds the last `contextSize` tokens (`idx[:, -context_size:]`) to the model without
/// recording gradients, takes the logits of the last position, and appends their argmax.
/// - Parameters:
///   - model: maps token ids `[B, T]` int64 to logits `[B, T, vocab]` (a ``GPTModel``).
///   - idx: the prompt, `[B, T0]` int64.
///   - maxNewTokens: tokens to append.
///   - contextSize: the model's supported context (`context_length`); longer inputs are cropped
///     to their last `contextSize` tokens each step (bug case B19).
/// - Returns: `[B, T0 + maxNewTokens]` int64; the first `T0` columns are the prompt.
/// Call `model.eval()` first for the book's deterministic output (dropout off).
public func generateTextSimple(model: some UnaryLayer, idx: Tensor, maxNewTokens: Int, contextSize: Int) -> Tensor {
    var idx = idx
    for _ in 0..<maxNewTokens {
        let idxCond = idx.slice(1, start: Swift.max(0, idx.shape[1] - contextSize))   // (B, ≤ contextSize)
        let logits = lastPositionLogits(model, idxCond)                                // (B, vocab)
        let probas = softmax(logits, dim: -1)          // kept for the book's shape; argmax is unchanged
        let idxNext = probas.argmax(-1, keepdim: true)                                  // (B, 1)
        idx = Tensor.cat([idx, idxNext], dim: 1)                                        // (B, T + 1)
    }
    return idx
}

/// The book's sampling loop (chapter 5.3, `generate`): top-k filtering, temperature scaling,
/// multinomial sampling, early stop at an end-of-sequence id.
///
/// Per step: crop to the last `contextSize` tokens, take the last position's logits; with `topK`,
/// set every logit below the k-th largest to −∞; if `temperature > 0`, divide by it and draw one
/// token with `multinomial(softmax(logits), 1)` from the global generator (seed with
/// ``manualSeed(_:)-(Int)`` for the book's outputs); otherwise take the argmax (greedy).
/// If the chosen token is `eosId` (for every row of the batch) generation stops without appending it.
///
/// Edge cases (bug case B22): `topK ≥ vocab` behaves as no top-k (clamped, as nanoGPT and
/// Hugging Face do; the book's `topk` call would fail); `temperature ≤ 0` is greedy.
/// The k-th value is compared per row (`min_val[:, None]`), which equals the book's
/// `logits < top_logits[:, -1]` for its batch of one and is also right for larger batches.
/// - Parameters:
///   - model: maps `[B, T]` int64 ids to `[B, T, vocab]` logits.
///   - idx: the prompt, `[B, T0]` int64.
///   - maxNewTokens: the most tokens to append.
///   - contextSize: crop length (`context_length`).
///   - temperature: 0 (default) for greedy decoding; > 0 to sample.
///   - topK: keep only the `topK` largest logits; nil for all.
///   - eosId: stop when this id is generated.
/// - Returns: `[B, T0 + n]` int64 with `n ≤ maxNewTokens`.
/// - Errors: `topK ≤ 0` raises a `ValueError` naming `top_k` (it would mask every logit).
public func generate(model: some UnaryLayer, idx: Tensor, maxNewTokens: Int, contextSize: Int,
                     temperature: Double = 0, topK: Int? = nil, eosId: Int? = nil) -> Tensor {
    if let topK, topK <= 0 {
        return EmberError(.value, "top_k must be a positive integer or nil, but got top_k=\(topK)").raise(shape: idx.shape, dtype: .int64)
    }
    var idx = idx
    for _ in 0..<maxNewTokens {
        let idxCond = idx.slice(1, start: Swift.max(0, idx.shape[1] - contextSize))   // idx[:, -context_size:]
        let logits = lastPositionLogits(model, idxCond)                                // (B, vocab)
        let idxNext = nextToken(logits: logits, temperature: temperature, topK: topK)    // (B, 1)
        if let eosId, idxNext.toInt64s().allSatisfy({ $0 == Int64(eosId) }) { break }
        idx = Tensor.cat([idx, idxNext], dim: 1)
    }
    return idx
}

/// The book's `generate_text_simple_cached` (chapter 4 bonus "KV cache"): greedy decoding that
/// feeds the prompt once and then one token per step through the model's KV cache.
///
/// Equals ``generateTextSimple(model:idx:maxNewTokens:contextSize:)`` token for token (up to
/// float32 rounding in an exact tie); see ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:useCache:)``
/// for the window handling (bug case B20).
/// - Parameters:
///   - model: a ``GPTModel``; its cache is reset first. Call `model.eval()` for the book's output.
///   - idx: the prompt, `[B, T0]` int64.
///   - maxNewTokens: tokens to append.
///   - contextSize: the window; nil for the model's `contextLength` (the book's default).
/// - Returns: `[B, T0 + maxNewTokens]` int64; the first `T0` columns are the prompt.
public func generateTextSimpleCached(model: GPTModel, idx: Tensor, maxNewTokens: Int, contextSize: Int? = nil) -> Tensor {
    generate(model: model, idx: idx, maxNewTokens: maxNewTokens, contextSize: contextSize ?? model.config.contextLength,
             useCache: true)
}

/// ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:)`` for a ``GPTModel``,
/// with or without its KV cache (book chapter 4 bonus "KV cache"). Same draws from the global
/// generator, so the same tokens for the same seed.
///
/// With `useCache`: reset the cache, prefill it with the prompt's last `contextSize` tokens, then
/// feed one new token per step (positions `T0, T0 + 1, …`). When the next token would sit at
/// position `contextSize`, the window slides as the uncached loop's crop does: the cache is reset
/// and refilled from the last `contextSize` tokens, so positions given to `pos_emb` never exceed
/// `contextSize − 1` and every step sees exactly the uncached loop's input (bug case B20).
/// - Parameters: as the generic `generate`; `contextSize ≤ model.config.contextLength`;
///   `useCache: false` runs the generic (uncached) loop.
/// - Returns: `[B, T0 + n]` int64 with `n ≤ maxNewTokens`.
public func generate(model: GPTModel, idx: Tensor, maxNewTokens: Int, contextSize: Int,
                     temperature: Double = 0, topK: Int? = nil, eosId: Int? = nil, useCache: Bool) -> Tensor {
    guard useCache else {
        return generate(model: model, idx: idx, maxNewTokens: maxNewTokens, contextSize: contextSize,
                        temperature: temperature, topK: topK, eosId: eosId)
    }
    if let topK, topK <= 0 {
        return EmberError(.value, "top_k must be a positive integer or nil, but got top_k=\(topK)").raise(shape: idx.shape, dtype: .int64)
    }
    var idx = idx
    for step in 0..<maxNewTokens {
        let logits = noGrad { () -> Tensor in
            let input: Tensor
            if step == 0 || model.currentPos + 1 > contextSize {
                model.resetKVCache()                                                      // (re)fill the window
                input = idx.slice(1, start: Swift.max(0, idx.shape[1] - contextSize))    // (B, ≤ contextSize)
            } else {
                input = idx.slice(1, start: idx.shape[1] - 1)                             // (B, 1): the newest token
            }
            let out = model(input, useCache: true)                                        // (B, T, vocab)
            return out.select(1, out.shape[1] - 1)                                        // (B, vocab)
        }
        let idxNext = nextToken(logits: logits, temperature: temperature, topK: topK)    // (B, 1)
        if let eosId, idxNext.toInt64s().allSatisfy({ $0 == Int64(eosId) }) { break }
        idx = Tensor.cat([idx, idxNext], dim: 1)
    }
    return idx
}

/// One decoding step of ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:)``:
/// logits `[B, vocab]` → next ids `[B, 1]` int64 (top-k mask, temperature, multinomial or argmax).
public func nextToken(logits: Tensor, temperature: Double = 0, topK: Int? = nil) -> Tensor {
    var logits = logits
    if let topK {
        guard topK > 0 else {
            return EmberError(.value, "top_k must be a positive integer or nil, but got top_k=\(topK)").raise(shape: [logits.shape[0], 1], dtype: .int64)
        }
        logits = topKFiltered(logits, k: topK)
    }
    if temperature > 0 {
        let probs = softmax(logits / temperature, dim: -1)                              // (B, vocab)
        return probs.multinomial(1)                                                     // (B, 1)
    }
    return logits.argmax(-1, keepdim: true)                                             // (B, 1)
}

/// The book's top-k filter (chapter 5.3.2): logits below the `k`-th largest of their row become
/// −∞ (`torch.where(logits < top_logits[:, -1:], -inf, logits)`); ties with the k-th value stay.
/// `k` larger than the last dimension keeps every logit (B22).
/// - Parameters: `logits` `[*, vocab]` float; `k > 0`.
/// - Returns: the filtered logits, same shape.
public func topKFiltered(_ logits: Tensor, k: Int) -> Tensor {
    let last = logits.ndim - 1
    let k = Swift.min(k, logits.shape[last])
    let minVal = logits.topk(k).values.slice(last, start: k - 1)                         // (*, 1)
    return logits.maskedFill(logits < minVal, -Double.infinity)
}

/// `model(idx)[:, -1, :]` without recording gradients: `[B, T]` ids → `[B, vocab]` logits.
func lastPositionLogits(_ model: some UnaryLayer, _ idx: Tensor) -> Tensor {
    noGrad {
        let logits = model(idx)                                  // (B, T, vocab)
        return logits.select(1, logits.shape[1] - 1)             // (B, vocab)
    }
}
