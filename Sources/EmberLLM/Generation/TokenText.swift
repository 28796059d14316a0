import EmberCore

/// The book's `text_to_token_ids` (chapter 5.1): GPT-2 BPE ids of `text` (with `<|endoftext|>`
/// allowed as the special token 50256) as a batch of one, `[1, n]` int64.
/// - Throws: what ``GPT2Tokenizer/encode(_:allowedSpecial:disallowedSpecial:)`` throws.
public func textToTokenIds(_ text: String, tokenizer: GPT2Tokenizer) throws -> Tensor {
    let ids = try tokenizer.encode(text, allowedSpecial: ["<|endoftext|>"])
    return Tensor(array: ids.map(Int64.init), shape: [1, ids.count])
}

/// The book's `token_ids_to_text` (chapter 5.1): decodes `[1, n]` (or `[n]`) int64 ids.
/// Invalid UTF-8 becomes U+FFFD, as tiktoken's `decode`.
/// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id that is not a token.
public func tokenIdsToText(_ tokenIds: Tensor, tokenizer: GPT2Tokenizer) throws -> String {
    try tokenizer.decode(tokenIds.flatten().toInt64s().map(Int.init))
}
