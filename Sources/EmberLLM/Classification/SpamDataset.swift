import EmberCore
import EmberNN
import Foundation

/// The book's `SpamDataset` (chapter 6 §6.3): every text encoded with the GPT-2 tokenizer, cut to
/// `maxLength` tokens when one is given, and padded with `padTokenId` to `maxLength` — by default
/// the longest encoded text (120 for the book's training split).
///
/// ```swift
/// let train = try SpamDataset(csv: trainURL, tokenizer: tokenizer)                         // maxLength 120
/// let validation = try SpamDataset(csv: validationURL, tokenizer: tokenizer, maxLength: train.maxLength)
/// ```
/// A sample is `(input: [maxLength] int64 token ids, target: 0-dim int64 label)`, so the default
/// collate gives `[B, maxLength]` inputs and `[B]` labels.
public struct SpamDataset: Dataset {
    /// The padded token ids of every text, each `maxLength` long.
    public let encodedTexts: [[Int]]
    /// The class of every text.
    public let labels: [Int]
    /// The common length (`self.max_length`).
    public let maxLength: Int

    /// `SpamDataset(csv_file, tokenizer, max_length, pad_token_id)`: reads the CSV as `pd.read_csv` does.
    /// - Throws: ``SpamData/DataError`` for a bad file or label; the tokenizer's error for a text
    ///   holding a special token's text (tiktoken's `encode` raises too).
    public init(csv: URL, tokenizer: GPT2Tokenizer, maxLength: Int? = nil, padTokenId: Int = 50256) throws {
        try self.init(messages: SpamData.readCSV(csv), tokenizer: tokenizer, maxLength: maxLength, padTokenId: padTokenId)
    }

    /// The dataset of rows already in memory (labels `"0"`/`"1"`, as ``SpamData/mapLabels(_:)`` gives).
    /// - Parameter maxLength: nil = the longest encoded text; otherwise texts are cut to it.
    /// - Throws: ``SpamData/DataError/badLabel(row:label:)``, the tokenizer's error, or
    ///   ``TrainingError/invalidSetting(_:)`` for a `maxLength` below 1.
    public init(messages: [SpamMessage], tokenizer: GPT2Tokenizer, maxLength: Int? = nil, padTokenId: Int = 50256) throws {
        if let maxLength, maxLength < 1 { throw TrainingError.invalidSetting("max_length must be at least 1, got \(maxLength)") }
        var encoded = try messages.map { try tokenizer.encode($0.text) }
        let length = maxLength ?? encoded.map(\.count).max() ?? 0
        if maxLength != nil { encoded = encoded.map { Array($0.prefix(length)) } }
        encodedTexts = encoded.map { $0 + Array(repeating: padTokenId, count: length - $0.count) }
        labels = try messages.map { try SpamData.labelValue($0) }
        self.maxLength = length
    }

    /// `len(dataset)`.
    public var count: Int { encodedTexts.count }

    /// `(torch.tensor(encoded, dtype=torch.long), torch.tensor(label, dtype=torch.long))`.
    public subscript(index: Int) -> (input: Tensor, target: Tensor) {
        (Tensor(array: encodedTexts[index].map(Int64.init)), Tensor(array: [Int64(labels[index])], shape: []))
    }

    /// The longest encoded text without padding or cutting (`_longest_encoded_length`).
    public static func longestEncodedLength(_ messages: [SpamMessage], tokenizer: GPT2Tokenizer) throws -> Int {
        try messages.map { try tokenizer.encode($0.text).count }.max() ?? 0
    }
}

/// The book's three chapter-6 loaders (§6.3): training shuffled with the last batch dropped,
/// validation and test in order. Making them draws nothing; call `manualSeed(123)` first as the book
/// does, since iterating draws from the global generator (see ``DataLoader``).
public struct ClassificationLoaders<Train: Dataset, Eval: Dataset> where Train.Sample == (input: Tensor, target: Tensor),
                                                                       Eval.Sample == (input: Tensor, target: Tensor) {
    public let train: DataLoader<Train>
    public let validation: DataLoader<Eval>
    public let test: DataLoader<Eval>

    /// - Parameters: `batchSize` (the book: 8) must be positive.
    public init(train: Train, validation: Eval, test: Eval, batchSize: Int = 8) {
        self.train = DataLoader(train, batchSize: batchSize, shuffle: true, dropLast: true)
        self.validation = DataLoader(validation, batchSize: batchSize, shuffle: false, dropLast: false)
        self.test = DataLoader(test, batchSize: batchSize, shuffle: false, dropLast: false)
    }
}
