import EmberCore
import EmberNN

/// The book's `classify_review` (chapter 6 §6.8) as a class index: `model.eval()`, the text encoded,
/// cut to `min(maxLength, contextLength)` tokens — the context length of `pos_emb`, not the
/// embedding size (the book's bug report rasbt/LLMs-from-scratch#371) — padded with `padTokenId` to
/// `maxLength`, and the argmax of the last token's logits.
/// - Parameters:
///   - maxLength: the length the classifier was trained with (the book: the training set's
///     `max_length`, 120); nil = the model's context length.
/// - Returns: the predicted class (0 … numClasses − 1).
/// - Throws: ``TrainingError/invalidSetting(_:)`` when `maxLength` exceeds the model's context length
///   (padding to it would feed more positions than `pos_emb` has: rasbt/LLMs-from-scratch#666) or is
///   below 1; the tokenizer's error for a special token's text.
public func classifyText(_ text: String, model: GPTModel, tokenizer: GPT2Tokenizer, device: Device = .cpu,
                         maxLength: Int? = nil, padTokenId: Int = 50256) throws -> Int {
    let supportedContextLength = model.pos_emb.weight.shape[0]
    let length = maxLength ?? supportedContextLength
    guard length >= 1 else { throw TrainingError.invalidSetting("max_length must be at least 1, got \(length)") }
    guard length <= supportedContextLength else {
        throw TrainingError.invalidSetting("max_length \(length) exceeds the model's supported context length \(supportedContextLength) (pos_emb rows); use at most \(supportedContextLength)")
    }
    model.eval()
    var ids = Array(try tokenizer.encode(text).prefix(length))
    ids += Array(repeating: padTokenId, count: length - ids.count)
    let input = Tensor(array: ids.map(Int64.init), shape: [1, length]).to(device)     // (1, maxLength)
    let logits = noGrad { model.lastTokenLogits(input) }                                // (1, numClasses)
    return Int(logits.argmax(-1).item())
}

/// The book's `classify_review`: `"spam"` for class 1, `"not spam"` otherwise (see
/// ``classifyText(_:model:tokenizer:device:maxLength:padTokenId:)`` for the steps and errors).
public func classifyReview(_ text: String, model: GPTModel, tokenizer: GPT2Tokenizer, device: Device = .cpu,
                           maxLength: Int? = nil, padTokenId: Int = 50256) throws -> String {
    try classifyText(text, model: model, tokenizer: tokenizer, device: device, maxLength: maxLength, padTokenId: padTokenId) == 1
        ? "spam" : "not spam"
}
