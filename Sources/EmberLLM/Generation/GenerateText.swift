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
///     to their last `contextSize` tokens each step (bug case B19, docs/cases.md).
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
/// multinomial sampling, early stop at an end-of-sequence id — plus Hugging Face's nucleus (top-p)
/// filter and repetition penalty.
///
/// Per step: crop to the last `contextSize` tokens, take the last position's logits and choose the
/// next token with ``nextToken(logits:temperature:topK:topP:repetitionPenalty:previousTokens:)``
/// (penalty, top-k, temperature, top-p, then `multinomial(softmax(logits), 1)` from the global
/// generator — seed with ``manualSeed(_:)-(Int)`` for the book's outputs — or the argmax when
/// `temperature ≤ 0`). If the chosen token is `eosId` (for every row of the batch) generation stops
/// without appending it. With `topP` and `repetitionPenalty` nil the draws are the book's.
///
/// Edge cases (bug case B22, docs/cases.md): `topK ≥ vocab` behaves as no top-k (clamped, as nanoGPT and
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
///   - topP: nucleus sampling, `0…1`; nil (or 1) for all tokens. Only with `temperature > 0`.
///   - repetitionPenalty: `> 0`; nil (or 1) for none. Penalises every id already in `idx`.
///   - onToken: called with each appended `[B, 1]` id tensor, as it is chosen (for streaming).
/// - Returns: `[B, T0 + n]` int64 with `n ≤ maxNewTokens`.
/// - Errors: `topK ≤ 0` raises a `ValueError` naming `top_k` (it would mask every logit); `topP`
///   outside `0…1` or `repetitionPenalty ≤ 0` a `ValueError` naming it (Hugging Face's checks).
public func generate(model: some UnaryLayer, idx: Tensor, maxNewTokens: Int, contextSize: Int,
                     temperature: Double = 0, topK: Int? = nil, eosId: Int? = nil,
                     topP: Double? = nil, repetitionPenalty: Double? = nil, onToken: ((Tensor) -> Void)? = nil) -> Tensor {
    if let error = samplingError(topK: topK, topP: topP, repetitionPenalty: repetitionPenalty) {
        return error.raise(shape: idx.shape, dtype: .int64)
    }
    var idx = idx
    for _ in 0..<maxNewTokens {
        let idxCond = idx.slice(1, start: Swift.max(0, idx.shape[1] - contextSize))   // idx[:, -context_size:]
        let logits = lastPositionLogits(model, idxCond)                                // (B, vocab)
        let idxNext = nextToken(logits: logits, temperature: temperature, topK: topK, topP: topP,
                                repetitionPenalty: repetitionPenalty, previousTokens: idx)        // (B, 1)
        if EmberError.isPending { break }   // e.g. NaN logits in multinomial: the caller's withErrorCapture throws it
        if let eosId, idxNext.toInt64s().allSatisfy({ $0 == Int64(eosId) }) { break }
        idx = Tensor.cat([idx, idxNext], dim: 1)
        onToken?(idxNext)
    }
    return idx
}

/// The book's `generate_text_simple_cached` (chapter 4 bonus "KV cache"): greedy decoding that
/// feeds the prompt once and then one token per step through the model's KV cache.
///
/// Equals ``generateTextSimple(model:idx:maxNewTokens:contextSize:)`` token for token (up to
/// float32 rounding in an exact tie); see ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:useCache:onToken:)``
/// for the window handling (bug case B20, docs/cases.md).
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

/// ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:onToken:)`` for a ``GPTModel``,
/// with or without its KV cache (book chapter 4 bonus "KV cache"). Same draws from the global
/// generator, so the same tokens for the same seed.
///
/// With `useCache`: reset the cache, prefill it with the prompt's last `contextSize` tokens, then
/// feed one new token per step (positions `T0, T0 + 1, …`). When the next token would sit at
/// position `contextSize`, the window slides as the uncached loop's crop does: the cache is reset
/// and refilled from the last `contextSize` tokens, so positions given to `pos_emb` never exceed
/// `contextSize − 1` and every step sees exactly the uncached loop's input (bug case B20, docs/cases.md).
/// - Parameters: as the generic `generate`; `contextSize ≤ model.config.contextLength`;
///   `useCache: false` runs the generic (uncached) loop.
/// - Returns: `[B, T0 + n]` int64 with `n ≤ maxNewTokens`.
public func generate(model: GPTModel, idx: Tensor, maxNewTokens: Int, contextSize: Int,
                     temperature: Double = 0, topK: Int? = nil, eosId: Int? = nil,
                     topP: Double? = nil, repetitionPenalty: Double? = nil, useCache: Bool,
                     onToken: ((Tensor) -> Void)? = nil) -> Tensor {
    guard useCache else {
        return generate(model: model, idx: idx, maxNewTokens: maxNewTokens, contextSize: contextSize,
                        temperature: temperature, topK: topK, eosId: eosId, topP: topP,
                        repetitionPenalty: repetitionPenalty, onToken: onToken)
    }
    if let error = samplingError(topK: topK, topP: topP, repetitionPenalty: repetitionPenalty) {
        return error.raise(shape: idx.shape, dtype: .int64)
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
        let idxNext = nextToken(logits: logits, temperature: temperature, topK: topK, topP: topP,
                                repetitionPenalty: repetitionPenalty, previousTokens: idx)        // (B, 1)
        if EmberError.isPending { break }   // e.g. NaN logits in multinomial: the caller's withErrorCapture throws it
        if let eosId, idxNext.toInt64s().allSatisfy({ $0 == Int64(eosId) }) { break }
        idx = Tensor.cat([idx, idxNext], dim: 1)
        onToken?(idxNext)
    }
    return idx
}

/// One decoding step of ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:onToken:)``:
/// logits `[B, vocab]` → next ids `[B, 1]` int64.
///
/// The logits pass through, in order: the repetition penalty (``repetitionPenalized(_:previousTokens:penalty:)``,
/// when `repetitionPenalty` and `previousTokens` are given), the book's top-k mask
/// (``topKFiltered(_:k:)``), then — when `temperature > 0` — division by `temperature`, the nucleus
/// filter (``topPFiltered(_:p:)``) and one `multinomial(softmax(logits), 1)` draw; otherwise the
/// argmax (greedy: top-k and top-p never change it). This is Hugging Face's order (penalty,
/// temperature, top-k, top-p) except that top-k comes before the temperature as in the book's
/// `generate`: dividing by a positive temperature keeps the order of the logits, so the same tokens
/// survive and the book's seeded draws stay exact.
/// - Parameters:
///   - topP: nil or 1 for no nucleus filter.
///   - repetitionPenalty: nil or 1 for none.
///   - previousTokens: `[B, T]` int64, the ids generated so far (prompt included) that the penalty applies to.
///   - generator: where the draw comes from; nil for the global generator (the book's `torch.manual_seed`).
/// - Errors: as ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:onToken:)``.
public func nextToken(logits: Tensor, temperature: Double = 0, topK: Int? = nil, topP: Double? = nil,
                      repetitionPenalty: Double? = nil, previousTokens: Tensor? = nil, generator: Generator? = nil) -> Tensor {
    if let error = samplingError(topK: topK, topP: topP, repetitionPenalty: repetitionPenalty) {
        return error.raise(shape: [logits.shape[0], 1], dtype: .int64)
    }
    var logits = logits
    if let repetitionPenalty, repetitionPenalty != 1, let previousTokens {
        logits = repetitionPenalized(logits, previousTokens: previousTokens, penalty: repetitionPenalty)
    }
    if let topK { logits = topKFiltered(logits, k: topK) }
    if temperature > 0 {
        logits = logits / temperature
        if let topP, topP < 1 { logits = topPFiltered(logits, p: topP) }
        let probs = softmax(logits, dim: -1)                                            // (B, vocab)
        return probs.multinomial(1, generator: generator)                               // (B, 1)
    }
    return logits.argmax(-1, keepdim: true)                                             // (B, 1)
}

/// The first sampling option out of range, as Hugging Face's warpers word it; nil when all are valid.
func samplingError(topK: Int?, topP: Double?, repetitionPenalty: Double?) -> EmberError? {
    if let topK, topK <= 0 {
        return EmberError(.value, "top_k must be a positive integer or nil, but got top_k=\(topK)")
    }
    if let topP, !(topP >= 0 && topP <= 1) {
        return EmberError(.value, "top_p has to be a float between 0 and 1, but is \(topP)")
    }
    if let repetitionPenalty, !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
        return EmberError(.value, "repetition_penalty has to be a strictly positive float, but is \(repetitionPenalty)")
    }
    return nil
}

/// Hugging Face's nucleus filter (`TopPLogitsWarper`, https://github.com/huggingface/transformers,
/// `src/transformers/generation/logits_process.py`): per row, sort the logits ascending, take the
/// cumulative sum of their softmax, and set to −∞ every logit whose cumulative probability is
/// `≤ 1 − p` — what remains is the smallest set of most probable tokens whose probabilities add up
/// to more than `p`; the most probable token always stays (`min_tokens_to_keep = 1`).
/// The running sum is accumulated in float64 and rounded to float32, as PyTorch's CPU `cumsum` does.
/// - Parameters: `logits` `[B, vocab]` float32 (after temperature); `p` in `0…1` (1 keeps everything).
/// - Returns: the filtered logits, same shape.
public func topPFiltered(_ logits: Tensor, p: Double) -> Tensor {
    let last = logits.ndim - 1, n = logits.shape[last]
    let (sortedLogits, sortedIndices) = logits.sort(last)                                // ascending
    let cumulativeProbs = softmax(sortedLogits, dim: -1).to(.float64).cumsum(last).to(logits.dtype)
    let sortedRemove = cumulativeProbs <= (1 - p)                                        // (B, vocab) bool
    _ = sortedRemove.narrow(last, start: n - 1, length: 1).fill_(0)                       // keep the most probable
    let remove = sortedRemove.scatter(last, sortedIndices, sortedRemove)                 // back to vocabulary order
    return logits.maskedFill(remove, -Double.infinity)
}

/// Hugging Face's repetition penalty (`RepetitionPenaltyLogitsProcessor`, CTRL, Keskar et al. 2019,
/// https://arxiv.org/abs/1909.05858): for every id in `previousTokens` (each id once, however often
/// it occurs), a negative logit is multiplied by `penalty` and a positive one divided by it, so
/// `penalty > 1` makes repeats less likely. `torch.where(score < 0, score * penalty, score / penalty)`
/// on `logits.gather(1, previousTokens)`, scattered back.
/// - Parameters: `logits` `[B, vocab]` float; `previousTokens` `[B, T]` int64 ids `< vocab`;
///   `penalty > 0` (1 changes nothing).
/// - Returns: the penalised logits, same shape.
public func repetitionPenalized(_ logits: Tensor, previousTokens: Tensor, penalty: Double) -> Tensor {
    let score = logits.gather(1, previousTokens)                                         // (B, T)
    let penalised = Tensor.where(score < 0, score * penalty, score / penalty)
    return logits.scatter(1, previousTokens, penalised)                                  // (B, vocab)
}

/// The book's top-k filter (chapter 5.3.2): logits below the `k`-th largest of their row become
/// −∞ (`torch.where(logits < top_logits[:, -1:], -inf, logits)`); ties with the k-th value stay.
/// `k` larger than the last dimension keeps every logit (bug case B22, docs/cases.md) — clamped, so
/// `--top-k 50257` is legal, as in PyTorch with the book's sizes.
/// The k-th largest value of each row is found with a k-entry min-heap (NaN counts as the largest,
/// as `torch.topk` orders it), so the filter needs O(k) memory beyond one copy of the row, never a
/// `vocab × k` buffer.
/// - Parameters: `logits` `[*, vocab]` float; `k > 0`.
/// - Returns: the filtered logits, same shape.
public func topKFiltered(_ logits: Tensor, k: Int) -> Tensor {
    let last = logits.ndim - 1
    let n = logits.shape[last]
    guard k < n, k > 0, logits.numel > 0 else { return logits }
    let values = logits.to(.float64).contiguous().toDoubles()
    var thresholds = [Double]()
    thresholds.reserveCapacity(values.count / n)
    var heap = [Double]()
    heap.reserveCapacity(k)
    var row = 0
    while row < values.count {
        heap.removeAll(keepingCapacity: true)
        for i in row..<(row + n) { kthLargestPush(&heap, values[i], k: k) }
        thresholds.append(heap[0])
        row += n
    }
    let minVal = Tensor(array: thresholds, shape: Array(logits.shape.dropLast()) + [1]).to(logits.dtype).to(logits.device)
    return logits.maskedFill(logits < minVal, -Double.infinity)
}

/// `a` ranks above `b` in `torch.topk`'s order (NaN above every number).
@inline(__always) private func ranksAbove(_ a: Double, _ b: Double) -> Bool {
    a.isNaN ? !b.isNaN : (!b.isNaN && a > b)
}

/// Keeps the `k` largest values seen in a min-heap (the root is the smallest kept: the k-th largest).
private func kthLargestPush(_ heap: inout [Double], _ v: Double, k: Int) {
    if heap.count < k {
        heap.append(v)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard ranksAbove(heap[parent], heap[i]) else { break }
            heap.swapAt(parent, i)
            i = parent
        }
        return
    }
    guard ranksAbove(v, heap[0]) else { return }
    heap[0] = v
    var i = 0
    while true {
        let l = 2 * i + 1, r = l + 1
        var smallest = i
        if l < k, ranksAbove(heap[smallest], heap[l]) { smallest = l }
        if r < k, ranksAbove(heap[smallest], heap[r]) { smallest = r }
        guard smallest != i else { return }
        heap.swapAt(i, smallest)
        i = smallest
    }
}

/// `model(idx)[:, -1, :]` without recording gradients: `[B, T]` ids → `[B, vocab]` logits.
func lastPositionLogits(_ model: some UnaryLayer, _ idx: Tensor) -> Tensor {
    noGrad {
        let logits = model(idx)                                  // (B, T, vocab)
        return logits.select(1, logits.shape[1] - 1)             // (B, vocab)
    }
}
