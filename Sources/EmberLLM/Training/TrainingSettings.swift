import EmberCore

/// Everything that decides a chapter-5 pretraining run besides the text: the model config and the
/// book's hyper-parameters. ``book`` is the book's run (ch. 5.2): `GPT_CONFIG_124M` with
/// `context_length` 256, AdamW lr 0.0004 and weight decay 0.1, 10 epochs, batch 2, seed 123,
/// `eval_freq` 5, `eval_iter` 5, start context "Every effort moves you", a 90/10 split.
///
/// Saved in every Ember checkpoint (`"train_settings"`), so `--resume` continues with the same run.
public struct TrainingSettings: Codable, Equatable, Sendable {
    /// The model.
    public var config: GPTConfig
    /// AdamW learning rate (`lr`).
    public var learningRate: Double = 0.0004
    /// AdamW decoupled weight decay (`weight_decay`).
    public var weightDecay: Double = 0.1
    /// Epochs of the whole run (`num_epochs`).
    public var numEpochs: Int = 10
    /// Windows per batch (`batch_size`).
    public var batchSize: Int = 2
    /// `torch.manual_seed` before the model is built.
    public var seed: Int = 123
    /// Evaluate every `evalFreq` optimizer steps, from step 0 (`eval_freq`).
    public var evalFreq: Int = 5
    /// Batches of each loader per evaluation (`eval_iter`).
    public var evalIter: Int = 5
    /// The prompt of the greedy sample printed after each epoch (`start_context`).
    public var startContext: String = "Every effort moves you"
    /// Fraction of the characters used for training (`train_ratio`).
    public var trainRatio: Double = 0.90

    /// Settings with the book's hyper-parameters and the given model.
    public init(config: GPTConfig) { self.config = config }

    /// The book's chapter-5 run (see the type's description).
    public static let book = TrainingSettings(config: .gpt2Small124M.with(contextLength: 256))

    /// Checks every value before anything is built, so a bad option is a message, not a crash.
    /// - Throws: ``TrainingError/invalidSetting(_:)`` naming the first bad value.
    public func validate() throws(TrainingError) {
        try config.validateForTraining()
        func require(_ ok: Bool, _ message: String) throws(TrainingError) {
            if !ok { throw .invalidSetting(message) }
        }
        try require(learningRate.isFinite && learningRate >= 0, "learning rate must be a non-negative number, got \(learningRate)")
        try require(weightDecay.isFinite && weightDecay >= 0, "weight decay must be a non-negative number, got \(weightDecay)")
        try require(numEpochs >= 1, "epochs must be at least 1, got \(numEpochs)")
        try require(batchSize >= 1, "batch size must be positive, got \(batchSize)")
        try require(evalFreq >= 1, "eval frequency must be positive, got \(evalFreq)")
        try require(evalIter >= 1, "eval iterations must be positive, got \(evalIter)")
        try require(trainRatio > 0 && trainRatio < 1, "train ratio must lie strictly between 0 and 1, got \(trainRatio)")
        try require(!startContext.isEmpty, "the start context must not be empty")
    }
}

extension GPTConfig {
    /// Checks that a model of this config can be built and fed GPT-2 token ids.
    /// - Throws: ``TrainingError/invalidSetting(_:)`` naming the first bad value.
    public func validateForTraining() throws(TrainingError) {
        func require(_ ok: Bool, _ message: String) throws(TrainingError) {
            if !ok { throw .invalidSetting(message) }
        }
        // GPT-2 ids go up to 50256; a smaller table would index out of range.
        try require(vocabSize >= 50257, "vocab size must be at least 50257 (GPT-2's tokenizer), got \(vocabSize)")
        try require(contextLength >= 1, "context length must be positive, got \(contextLength)")
        try require(embDim >= 1, "embedding size must be positive, got \(embDim)")
        try require(nLayers >= 1, "number of layers must be positive, got \(nLayers)")
        try require(nHeads >= 1 && embDim % nHeads == 0, "the number of heads (\(nHeads)) must divide the embedding size (\(embDim))")
        try require(dropRate >= 0 && dropRate < 1, "drop rate must lie in [0, 1), got \(dropRate)")
        // Upper bounds and the model's total size (GPTConfig+Validation.swift), before anything is allocated.
        if let problem = sizeProblem() { throw .invalidSetting("model config: \(problem)") }
    }
}
