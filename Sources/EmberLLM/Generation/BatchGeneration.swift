import EmberCore
import EmberNN

/// Greedy generation for several prompts at once (the book's `generate(…, temperature=0.0,
/// eos_id=…)`, chapter 5.3, run for a batch of prompts of different lengths): each prompt gets the
/// tokens that ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:useCache:onToken:)``
/// gives it alone — with or without the KV cache — and stops at its own `eosId`.
///
/// Prompts are taken `batchSize` at a time, shortest first (less padding), left-padded and run
/// through the model together with a KV cache (see `RaggedBatchForward`: per-row positions and
/// attention masks, so padding changes nothing); a row that produced `eosId` leaves the batch.
/// When a row's window is full (its next token would sit at position `contextSize`), the batch is
/// re-filled from every row's last `contextSize` tokens, as the single-prompt loop crops
/// `idx[:, -context_size:]` (bug case B20, docs/cases.md).
///
/// Equal to the one-prompt loop token for token, up to float32 rounding in an exact tie (sums over
/// rows of different lengths round differently in the last bit).
/// - Parameters:
///   - model: a ``GPTModel``; call `model.eval()` first (dropout would otherwise apply). Its own KV
///     cache is not used.
///   - prompts: token ids per prompt, each non-empty (an empty prompt raises a `ValueError` and
///     gets no tokens).
///   - maxNewTokens: the most tokens to append per prompt.
///   - contextSize: the window; nil for the model's `contextLength` (at most that).
///   - eosId: stop a prompt when this id is chosen (it is not appended); nil never stops early.
///   - batchSize: prompts run together, > 0 (memory: the cache holds `2 · nLayers · batchSize ·
///     (longest prompt + maxNewTokens) · embDim` floats).
///   - onToken: called as each token is chosen, with the prompt's index and the id.
/// - Returns: per prompt, in the order given, the new ids (prompt excluded, `eosId` excluded).
public func generateBatched(model: GPTModel, prompts: [[Int]], maxNewTokens: Int, contextSize: Int? = nil,
                            eosId: Int? = nil, batchSize: Int = 8,
                            onToken: ((_ prompt: Int, _ token: Int) -> Void)? = nil) -> [[Int]] {
    var results = [[Int]](repeating: [], count: prompts.count)
    if let empty = prompts.firstIndex(where: \.isEmpty) {
        EmberError(.value, "generateBatched: prompt \(empty) is empty; every prompt needs at least one token").raise()
        return results
    }
    let window = Swift.min(contextSize ?? model.config.contextLength, model.config.contextLength)
    guard maxNewTokens > 0, window > 0 else { return results }
    let order = prompts.indices.sorted { (prompts[$0].count, $0) < (prompts[$1].count, $1) }
    for start in stride(from: 0, to: order.count, by: Swift.max(1, batchSize)) {
        let chunk = Array(order[start ..< Swift.min(start + Swift.max(1, batchSize), order.count)])
        let new = generateChunk(model: model, prompts: chunk.map { prompts[$0] }, maxNewTokens: maxNewTokens, window: window,
                                eosId: eosId) { row, token in onToken?(chunk[row], token) }
        for (row, index) in chunk.enumerated() { results[index] = new[row] }
    }
    return results
}

/// One batch of ``generateBatched(model:prompts:maxNewTokens:contextSize:eosId:batchSize:onToken:)``.
private func generateChunk(model: GPTModel, prompts: [[Int]], maxNewTokens: Int, window: Int, eosId: Int?,
                           onToken: (Int, Int) -> Void) -> [[Int]] {
    let forward = RaggedBatchForward(model: model)
    var sequences = prompts, generated = [[Int]](repeating: [], count: prompts.count)
    var active = Array(prompts.indices)                       // the prompt of each batch row
    // Rows from their last `window` tokens, with room for what is left to generate.
    func refill(remaining: Int) -> Tensor {
        let rows = active.map { Array(sequences[$0].suffix(window)) }
        return forward.prefill(rows, capacity: Swift.min(window, rows.map(\.count).max()! + remaining))
    }
    var logits = refill(remaining: maxNewTokens)                                     // (B, vocab)
    for step in 0..<maxNewTokens {
        let next = logits.argmax(-1).toInt64s().map(Int.init)                        // (B,) greedy
        var keep: [Int] = []
        for (row, prompt) in active.enumerated() {
            if let eosId, next[row] == eosId { continue }
            sequences[prompt].append(next[row])
            generated[prompt].append(next[row])
            onToken(prompt, next[row])
            keep.append(row)
        }
        if keep.isEmpty || step == maxNewTokens - 1 { break }
        if keep.count < active.count {
            forward.keep(keep)
            active = keep.map { active[$0] }
        }
        // The next token goes in column `filled` at position `filled − pad`: refill when the cache
        // has no room or a row's position would leave the window.
        let full = forward.filled >= forward.capacity || forward.pads.contains { forward.filled - $0 >= window }
        logits = full ? refill(remaining: maxNewTokens - step - 1) : forward.step(active.map { sequences[$0].last! })
    }
    return generated
}
