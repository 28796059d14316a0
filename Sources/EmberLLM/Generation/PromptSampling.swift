import EmberCore
import EmberNN

/// What ``samplePrompt(model:tokenizer:prompt:maxNewTokens:temperature:topK:topP:repetitionPenalty:eosId:seed:useCache:onText:)`` produced.
public struct PromptSample: Sendable, Equatable {
    /// The decoded prompt (as used, after cropping) followed by the new tokens.
    public var text: String
    /// All token ids, `[prompt as used] + [new]`.
    public var tokenIds: [Int]
    /// Tokens of the prompt before cropping.
    public var promptTokens: Int
    /// Leading prompt tokens dropped to fit `context_length` (0 when the prompt fits).
    public var croppedTokens: Int

    /// A note for the user when the prompt was cropped, else nil.
    public func cropNote(contextLength: Int) -> String? {
        croppedTokens == 0 ? nil
            : "note: the prompt has \(promptTokens) tokens but context_length is \(contextLength); only its last \(contextLength) tokens are used"
    }
}

/// The book's chapter-5.3 sampling from a prompt: `torch.manual_seed(seed)`, then
/// ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:topP:repetitionPenalty:useCache:onToken:)``
/// with the model's `context_length`, then `token_ids_to_text`. A prompt longer than the context is
/// cropped to its last `context_length` tokens first (the model could not take it; see
/// ``PromptSample/cropNote(contextLength:)``). The model is put in eval mode (no dropout), as the
/// book does before generating; the prompt goes to the model's device.
/// - Parameters:
///   - temperature: 0 for greedy decoding, > 0 to sample (the book's example uses 1.4 with top-k 25).
///   - topK: keep the `topK` largest logits; nil for all.
///   - topP: nucleus filter in `0…1` (Hugging Face's `top_p`); nil for none.
///   - repetitionPenalty: Hugging Face's `repetition_penalty`, > 0; nil for none.
///   - eosId: stop before this id (the book's `eos_id`; GPT-2's `<|endoftext|>` is 50256); nil never stops early.
///   - seed: the global seed before sampling; nil leaves the generator as it is.
///   - useCache: decode through the model's KV cache (book chapter 4 bonus; same tokens, faster).
///   - onText: receives the text as it is produced — the prompt as used, then each new token's
///     text, a multi-byte UTF-8 character held back until its last token arrives (``TokenStreamDecoder``);
///     the pieces join to ``PromptSample/text``.
/// - Throws: ``TrainingError/invalidSetting(_:)`` for an empty prompt, a negative token count, a
///   negative or non-finite temperature, `topK ≤ 0`, `topP` outside `0…1` or `repetitionPenalty ≤ 0`;
///   the tokenizer's errors.
public func samplePrompt(model: GPTModel, tokenizer: GPT2Tokenizer, prompt: String, maxNewTokens: Int,
                         temperature: Double, topK: Int?, topP: Double? = nil, repetitionPenalty: Double? = nil,
                         eosId: Int? = nil, seed: Int?, useCache: Bool = false,
                         onText: ((String) -> Void)? = nil) throws -> PromptSample {
    guard maxNewTokens >= 0 else { throw TrainingError.invalidSetting("max new tokens must not be negative, got \(maxNewTokens)") }
    guard temperature.isFinite && temperature >= 0 else { throw TrainingError.invalidSetting("temperature must be a non-negative number, got \(temperature)") }
    if let topK, topK <= 0 { throw TrainingError.invalidSetting("top-k must be positive, got \(topK)") }
    if let topP, !(topP >= 0 && topP <= 1) { throw TrainingError.invalidSetting("top-p must lie in [0, 1], got \(topP)") }
    if let repetitionPenalty, !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
        throw TrainingError.invalidSetting("the repetition penalty must be a positive number, got \(repetitionPenalty)")
    }
    let ids = try tokenizer.encode(prompt, allowedSpecial: ["<|endoftext|>"])
    guard !ids.isEmpty else { throw TrainingError.invalidSetting("the prompt is empty") }
    let ctx = model.config.contextLength
    let used = Array(ids.suffix(ctx))
    var stream = TokenStreamDecoder(tokenizer: tokenizer)
    var streamError: (any Error)?
    if let onText {
        var text = ""
        for id in used { text += try stream.push(id) }
        onText(text)
    }
    model.eval()
    if let seed { manualSeed(seed) }
    let idx = Tensor(array: used.map(Int64.init), shape: [1, used.count]).to(model.tok_emb.weight.device)
    var onToken: ((Tensor) -> Void)? = nil
    if let onText {
        onToken = { next in                                                   // next: (1, 1)
            guard streamError == nil else { return }
            do { onText(try stream.push(Int(next.toInt64s()[0]))) } catch { streamError = error }
        }
    }
    // Non-finite logits (NaN/Inf weights from a diverged run) fail `multinomial` as in PyTorch
    // ("probability tensor contains either `inf`, `nan` or element < 0"): thrown here as an EmberError.
    let out = try withErrorCapture {
        generate(model: model, idx: idx, maxNewTokens: maxNewTokens, contextSize: ctx, temperature: temperature,
                 topK: topK, eosId: eosId, topP: topP, repetitionPenalty: repetitionPenalty, useCache: useCache,
                 onToken: onToken)
    }
    if let streamError { throw streamError }
    if let onText { onText(stream.finish()) }
    let outIds = out.flatten().toInt64s().map(Int.init)
    return PromptSample(text: try tokenizer.decode(outIds), tokenIds: outIds, promptTokens: ids.count,
                        croppedTokens: ids.count - used.count)
}
