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
    /// With several ranks: this rank's share of the training windows (shuffled with `seed + epoch`;
    /// call ``DistributedSampler/setEpoch(_:)`` before each epoch); nil for one process.
    public let trainSampler: DistributedSampler?

    /// - Parameters:
    ///   - text: the whole text; the first `trainRatio` of its characters train, the rest validate.
    ///   - contextLength: tokens per window (and stride).
    ///   - batchSize: windows per batch, > 0.
    ///   - trainRatio: strictly between 0 and 1 (the book: 0.90).
    ///   - group: with several ranks (data-parallel training), each rank loads `batchSize / worldSize`
    ///     windows per batch from its share of the data (``DistributedSampler``, shuffled with `seed`
    ///     and the epoch; validation unshuffled), so one step of all ranks together covers `batchSize`
    ///     windows. One process (the default) is the book's loaders.
    /// - Throws: ``TrainingError/invalidSetting(_:)`` for bad sizes, text the tokenizer refuses, a batch
    ///   size that the ranks cannot split evenly or fewer windows than ranks;
    ///   ``TrainingError/notEnoughTokens(part:tokens:needed:)`` when a split has no full window.
    public init(text: String, tokenizer: GPT2Tokenizer, contextLength: Int, batchSize: Int,
                trainRatio: Double = 0.90, group: ProcessGroup = .single, seed: Int = 0) throws(TrainingError) {
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
        guard group.worldSize > 1 else {
            train = DataLoader(trainData, batchSize: batchSize, shuffle: true, dropLast: true)
            validation = DataLoader(valData, batchSize: batchSize, shuffle: false, dropLast: false)
            trainSampler = nil
            return
        }
        let ranks = group.worldSize
        guard batchSize % ranks == 0 else {
            throw .invalidSetting("batch size \(batchSize) cannot be split evenly over \(ranks) processes; use a multiple of \(ranks)")
        }
        do {
            let sampler = try DistributedSampler(count: trainData.count, numReplicas: ranks, rank: group.rank, shuffle: true, seed: seed)
            train = DataLoader(trainData, batchSize: batchSize / ranks, sampler: sampler, dropLast: true)
            trainSampler = sampler
        } catch {
            throw .invalidSetting("\((error as? EmberError)?.message ?? "\(error)") (training windows: \(trainData.count))")
        }
        // Every rank evaluates the whole validation split, so the validation loss is the one-process
        // number (the book's text has a single validation window: it could not be shared anyway).
        validation = DataLoader(valData, batchSize: batchSize, shuffle: false, dropLast: false)
    }
}
