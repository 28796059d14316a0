/// The settings of the book's instruction finetuning run (ch. 7 §7.6, `gpt_instruction_finetuning.py`).
public struct InstructionFinetuningSettings: Sendable, Equatable {
    /// AdamW learning rate (0.00005).
    public var learningRate = 0.00005
    /// AdamW weight decay (0.1).
    public var weightDecay = 0.1
    /// Epochs (2).
    public var numEpochs = 2
    /// Evaluate every this many steps (`eval_freq` 5).
    public var evalFreq = 5
    /// Batches per evaluation and for the initial losses (`eval_iter` 5).
    public var evalIter = 5
    /// Examples per batch (8).
    public var batchSize = 8
    /// Collate truncation (`allowed_max_length` 1024, the model's context length).
    public var allowedMaxLength = 1024
    /// `torch.manual_seed` before the loaders and again before training (123).
    public var seed = 123
    /// Tokens generated per test answer (256).
    public var maxNewTokens = 256
    /// Mask the prompt out of the loss (exercise 7.2; the book's run: false).
    public var maskInstruction = false

    /// The book's values.
    public static let book = InstructionFinetuningSettings()

    public init() {}

    /// The book's name of the finetuned weights: `f"{re.sub(r'[ ()]', '', CHOOSE_MODEL)}-sft.pth"`,
    /// `gpt2-medium355M-sft.pth` for GPT-2 medium; `model-sft.pth` for a model that is no GPT-2 size.
    public static func sftFileName(for config: GPTConfig) -> String {
        let size = GPT2Size.allCases.first {
            $0.dimensions == (config.embDim, config.nLayers, config.nHeads) && config.vocabSize == 50257
        }
        guard let size else { return "model-sft.pth" }
        return size.rawValue.filter { !" ()".contains($0) } + "-sft.pth"
    }
}
