import EmberCore
import EmberNN

/// Chapter 5.1's data preparation: the text split by ``trainValidationSplit(_:trainRatio:)``, each
/// part cut into non-overlapping windows of `contextLength` GPT-2 tokens (`stride = max_length =
/// context_length`, ``GPTDatasetV1``), then the book's loaders — training shuffled with the last
/// short batch dropped, validation in order with it kept:
///
/// ```python
/// train_loader = create_dataloader_v1(train_data, batch_size=2, max_length=GPT_CONFIG_124M["context_length"],
///     stride=GPT_CONFIG_124M["context_length"], drop_last=True, shuffle=True, num_workers=0)
/// val_loader = create_dataloader_v1(val_data, batch_size=2, max_length=…, stride=…, drop_last=False, shuffle=False, num_workers=0)
/// ```
/// Building them draws nothing; each pass over the loaders draws as PyTorch's do.
public struct PretrainingLoaders {
    /// Training windows: shuffled, last short batch dropped (the book's `train_loader`).
    public let train: DataLoader<GPTDatasetV1>
    /// Validation windows: in order, last short batch kept (`val_loader`).
    public let validation: DataLoader<GPTDatasetV1>

    /// - Parameters:
    ///   - text: the whole text; the first `trainRatio` of its characters train, the rest validate.
    ///   - contextLength: tokens per window (and stride).
    ///   - batchSize: windows per batch, > 0.
    ///   - trainRatio: strictly between 0 and 1 (the book: 0.90).
    /// - Throws: ``TrainingError/invalidSetting(_:)`` for bad sizes or text the tokenizer refuses;
    ///   ``TrainingError/notEnoughTokens(part:tokens:needed:)`` when a split has no full window.
    public init(text: String, tokenizer: GPT2Tokenizer, contextLength: Int, batchSize: Int,
                trainRatio: Double = 0.90) throws(TrainingError) {
        guard contextLength >= 1 else { throw .invalidSetting("context length must be positive, got \(contextLength)") }
        guard batchSize >= 1 else { throw .invalidSetting("batch size must be positive, got \(batchSize)") }
        guard trainRatio > 0 && trainRatio < 1 else { throw .invalidSetting("train ratio must lie strictly between 0 and 1, got \(trainRatio)") }
        let (trainText, valText) = trainValidationSplit(text, trainRatio: trainRatio)
        let ctx = contextLength
        let trainData: GPTDatasetV1, valData: GPTDatasetV1
        do {
            trainData = try GPTDatasetV1(text: trainText, tokenizer: tokenizer, maxLength: ctx, stride: ctx)
            valData = try GPTDatasetV1(text: valText, tokenizer: tokenizer, maxLength: ctx, stride: ctx)
        } catch {
            throw .invalidSetting("cannot tokenize the text: \(error)")
        }
        guard trainData.count > 0 else { throw .notEnoughTokens(part: "training", tokens: trainData.tokenIds.count, needed: ctx + 1) }
        guard valData.count > 0 else { throw .notEnoughTokens(part: "validation", tokens: valData.tokenIds.count, needed: ctx + 1) }
        train = DataLoader(trainData, batchSize: batchSize, shuffle: true, dropLast: true)
        validation = DataLoader(valData, batchSize: batchSize, shuffle: false, dropLast: false)
    }
}
