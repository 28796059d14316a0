import EmberCore
import EmberNN

/// Chapter 7's loaders (§7.4, `gpt_instruction_finetuning.py`): an ``InstructionDataset`` per split,
/// each batched by ``customCollate(_:padTokenId:ignoreIndex:allowedMaxLength:maskInstruction:)`` —
/// training shuffled with the last short batch dropped, validation and test in order with it kept:
///
/// ```python
/// customized_collate_fn = partial(custom_collate_fn, device=device, allowed_max_length=1024)
/// torch.manual_seed(123)
/// train_loader = DataLoader(train_dataset, batch_size=8, collate_fn=customized_collate_fn, shuffle=True, drop_last=True)
/// val_loader = DataLoader(val_dataset, batch_size=8, collate_fn=customized_collate_fn, shuffle=False, drop_last=False)
/// ```
/// Building them draws nothing; each pass draws as PyTorch's loaders do (call `manualSeed(123)`
/// first for the book's batches: the first training batch holds train entries 8, 709, 639, …).
public struct InstructionLoaders {
    /// Training examples: shuffled, last short batch dropped.
    public let train: DataLoader<InstructionDataset>
    /// Validation examples: in order, last short batch kept.
    public let validation: DataLoader<InstructionDataset>
    /// Test examples: in order, last short batch kept (the book's `test_loader`).
    public let test: DataLoader<InstructionDataset>

    /// - Parameters:
    ///   - batchSize: examples per batch, > 0 (the book: 8).
    ///   - allowedMaxLength: truncation length, > 0 (the book: 1024 = the model's context length);
    ///     nil for none.
    ///   - maskInstruction: mask each prompt out of the loss (exercise 7.2).
    /// - Throws: ``TrainingError/invalidSetting(_:)`` for a bad size or an entry the tokenizer
    ///   refuses (special-token text), naming the split and entry.
    public init(train: [InstructionEntry], validation: [InstructionEntry], test: [InstructionEntry] = [],
                tokenizer: GPT2Tokenizer, batchSize: Int = 8, allowedMaxLength: Int? = 1024,
                maskInstruction: Bool = false) throws(TrainingError) {
        guard batchSize >= 1 else { throw .invalidSetting("batch size must be positive, got \(batchSize)") }
        if let allowedMaxLength, allowedMaxLength < 1 {
            throw .invalidSetting("allowed max length must be positive, got \(allowedMaxLength)")
        }
        func dataset(_ entries: [InstructionEntry], _ part: String) throws(TrainingError) -> InstructionDataset {
            do { return try InstructionDataset(entries, tokenizer: tokenizer) } catch {
                let i = entries.firstIndex { (try? InstructionDataset([$0], tokenizer: tokenizer)) == nil } ?? 0
                throw .invalidSetting("\(part) entry \(i) cannot be tokenized: \(error)")
            }
        }
        let collate = { (samples: [InstructionSample]) in
            customCollate(samples, allowedMaxLength: allowedMaxLength, maskInstruction: maskInstruction)
        }
        self.train = DataLoader(try dataset(train, "training"), batchSize: batchSize, shuffle: true, dropLast: true, collate: collate)
        self.validation = DataLoader(try dataset(validation, "validation"), batchSize: batchSize, collate: collate)
        self.test = DataLoader(try dataset(test, "test"), batchSize: batchSize, collate: collate)
    }
}
