import EmberCore
import EmberNN

/// The book's `create_dataloader_v1` (chapter 2.6): a ``GPTDatasetV1`` over the GPT-2 tokens of
/// `text` wrapped in a ``DataLoader``. Batches are `([batchSize, maxLength], [batchSize, maxLength])` int64.
/// - Throws: what the tokenizer's `encode` throws.
public func createDataloaderV1(_ text: String, tokenizer: GPT2Tokenizer, batchSize: Int = 4, maxLength: Int = 256,
                               stride: Int = 128, shuffle: Bool = true, dropLast: Bool = true) throws -> DataLoader<GPTDatasetV1> {
    let dataset = try GPTDatasetV1(text: text, tokenizer: tokenizer, maxLength: maxLength, stride: stride)
    return DataLoader(dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast)
}

/// The chapter-5 train/validation split: the first `int(trainRatio · len(text))` characters train,
/// the rest validate. Characters are Unicode scalars, as Python's `len(str)` counts them (Swift's
/// `String.count` counts grapheme clusters, which can differ).
/// - Returns: `(train, validation)`; "The Verdict" (20,479 characters) splits at 18,431.
public func trainValidationSplit(_ text: String, trainRatio: Double = 0.90) -> (train: String, validation: String) {
    let scalars = text.unicodeScalars
    let splitIdx = Int(trainRatio * Double(scalars.count))      // Python int() truncates toward 0
    let cut = scalars.index(scalars.startIndex, offsetBy: Swift.max(0, Swift.min(splitIdx, scalars.count)))
    return (String(scalars[..<cut]), String(scalars[cut...]))
}
