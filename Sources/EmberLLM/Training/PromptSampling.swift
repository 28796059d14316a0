import EmberCore
import EmberNN

/// What ``samplePrompt(model:tokenizer:prompt:maxNewTokens:temperature:topK:seed:useCache:)`` produced.
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
/// ``generate(model:idx:maxNewTokens:contextSize:temperature:topK:eosId:)`` with the model's
/// `context_length`, then `token_ids_to_text`. A prompt longer than the context is cropped to its
/// last `context_length` tokens first (the model could not take it; see ``PromptSample/cropNote(contextLength:)``).
/// The model is put in eval mode (no dropout), as the book does before generating; the prompt goes
/// to the model's device.
/// - Parameters:
///   - temperature: 0 for greedy decoding, > 0 to sample (the book's example uses 1.4 with top-k 25).
///   - topK: keep the `topK` largest logits; nil for all.
///   - seed: the global seed before sampling; nil leaves the generator as it is.
///   - useCache: decode through the model's KV cache (book chapter 4 bonus; same tokens, faster).
/// - Throws: ``TrainingError/invalidSetting(_:)`` for an empty prompt, a negative token count, a
///   negative or non-finite temperature or `topK ≤ 0`; the tokenizer's errors.
public func samplePrompt(model: GPTModel, tokenizer: GPT2Tokenizer, prompt: String, maxNewTokens: Int,
                         temperature: Double, topK: Int?, seed: Int?, useCache: Bool = false) throws -> PromptSample {
    guard maxNewTokens >= 0 else { throw TrainingError.invalidSetting("max new tokens must not be negative, got \(maxNewTokens)") }
    guard temperature.isFinite && temperature >= 0 else { throw TrainingError.invalidSetting("temperature must be a non-negative number, got \(temperature)") }
    if let topK, topK <= 0 { throw TrainingError.invalidSetting("top-k must be positive, got \(topK)") }
    let ids = try tokenizer.encode(prompt, allowedSpecial: ["<|endoftext|>"])
    guard !ids.isEmpty else { throw TrainingError.invalidSetting("the prompt is empty") }
    let ctx = model.config.contextLength
    let used = Array(ids.suffix(ctx))
    model.eval()
    if let seed { manualSeed(seed) }
    let idx = Tensor(array: used.map(Int64.init), shape: [1, used.count]).to(model.tok_emb.weight.device)
    let out = generate(model: model, idx: idx,
                       maxNewTokens: maxNewTokens, contextSize: ctx, temperature: temperature, topK: topK,
                       useCache: useCache)
    let outIds = out.flatten().toInt64s().map(Int.init)
    return PromptSample(text: try tokenizer.decode(outIds), tokenIds: outIds, promptTokens: ids.count,
                        croppedTokens: ids.count - used.count)
}
