import ArgumentParser
import Ember
import Foundation

/// `ember finetune instruct`: the book's chapter-7 instruction finetuning (`gpt_instruction_finetuning.py`):
/// the bundled 1,100 Alpaca-style examples split 935/55/110, the initial losses, `train_model_simple`
/// (AdamW lr 5e-5, weight decay 0.1, 2 epochs, batch 8, evaluation every 5 steps on 5 batches, the
/// sample after each epoch from the first validation prompt), the loss plot, greedy answers for
/// the test set (`instruction-data-with-response.json`) and the finetuned weights
/// (`gpt2-medium355M-sft.pth`, a state dict PyTorch's `torch.load` reads).
struct FinetuneInstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instruct",
        abstract: "Finetune a GPT model to follow instructions as the book's chapter 7 does.",
        discussion: """
        The book's run: ember finetune instruct --model openai-community/gpt2-medium \
        (the weights are downloaded into the Hugging Face cache on first use; offline, fetch them elsewhere with \
        `ember download openai-community/gpt2-medium` and pass the folder to --model, or finetune a model trained \
        with Ember: --checkpoint out/model_and_optimizer.pth). Writes into --output: \(TrainingRun.plotFileName), \
        \(TrainingRun.logFileName), \(InstructionResponses.fileName) and the finetuned weights, each atomically.
        """)

    @OptionGroup(title: "Model source")
    var source: ModelSourceOptions

    @Option(help: "Instruction data: a JSON array of {instruction, input, output} (default: the book's bundled instruction-data.json).")
    var data: String?
    @Option(help: "Use only the first N entries of each split (the book's --test_mode uses 10).")
    var limit: Int?

    @Option(help: "Epochs.")
    var epochs = InstructionFinetuningSettings.book.numEpochs
    @Option(help: "AdamW learning rate.")
    var lr = InstructionFinetuningSettings.book.learningRate
    @Option(help: "AdamW weight decay.")
    var weightDecay = InstructionFinetuningSettings.book.weightDecay
    @Option(help: "Examples per batch.")
    var batchSize = InstructionFinetuningSettings.book.batchSize
    @Option(help: "Evaluate every N steps.")
    var evalFreq = InstructionFinetuningSettings.book.evalFreq
    @Option(help: "Batches per evaluation (and for the initial losses).")
    var evalIter = InstructionFinetuningSettings.book.evalIter
    @Option(help: "Truncate batches to this many tokens (capped to the model's context length).")
    var allowedMaxLength = InstructionFinetuningSettings.book.allowedMaxLength
    @Option(help: "torch.manual_seed before the loaders and before training.")
    var seed = InstructionFinetuningSettings.book.seed
    @Flag(help: "Leave the prompt out of the loss (the book's exercise 7.2).")
    var maskInstruction = false

    @Option(help: "Tokens generated per test answer.")
    var maxNewTokens = InstructionFinetuningSettings.book.maxNewTokens
    @Option(help: "Test prompts answered together (the answers are the same as one at a time).")
    var generateBatchSize = 8
    @Flag(help: "Skip the test answers.")
    var noResponses = false

    @Option(help: "Folder for the plot, log, answers and weights.")
    var output = "out"

    @OptionGroup(title: "Model (for checkpoints without a saved config)")
    var model: ModelOptions

    func validate() throws {
        let positive = [("--epochs", epochs), ("--batch-size", batchSize), ("--eval-freq", evalFreq), ("--eval-iter", evalIter),
                        ("--allowed-max-length", allowedMaxLength), ("--generate-batch-size", generateBatchSize)]
        for (name, value) in positive where value < 1 { throw ValidationError("\(name) must be positive, got \(value)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be positive, got \(limit)") }
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must not be negative, got \(maxNewTokens)") }
        guard lr > 0, weightDecay >= 0 else { throw ValidationError("--lr must be positive and --weight-decay not negative") }
    }

    func run() throws {
        let separator = String(repeating: "-", count: 50)
        let entries = try data.map { try InstructionData.load(InstructionEntry.self, from: URL(fileURLWithPath: $0)) } ?? InstructionData.bundled()
        var (trainData, valData, testData) = InstructionData.split(entries)
        if let limit { (trainData, valData, testData) = (Array(trainData.prefix(limit)), Array(valData.prefix(limit)), Array(testData.prefix(limit))) }
        print("Training set length: \(trainData.count)\nValidation set length: \(valData.count)\nTest set length: \(testData.count)")
        print(separator)
        guard let firstVal = valData.first else { throw ValidationError("the validation split is empty: the data needs more entries") }

        let gpt = try loadModel()
        let directory = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let maxLength = min(allowedMaxLength, gpt.config.contextLength)
        let tokenizer = try GPT2Tokenizer.gpt2()
        manualSeed(seed)
        let loaders = try InstructionLoaders(train: trainData, validation: valData, test: testData, tokenizer: tokenizer,
                                             batchSize: batchSize, allowedMaxLength: maxLength, maskInstruction: maskInstruction)
        guard loaders.train.count > 0 else {
            throw ValidationError("the training split has \(trainData.count) entries, fewer than one batch of \(batchSize)")
        }

        print("Initial losses")
        let (trainLoss, valLoss) = noGrad {
            (calcLossLoader(loaders.train, model: gpt, numBatches: evalIter), calcLossLoader(loaders.validation, model: gpt, numBatches: evalIter))
        }
        print("   Training loss: \(trainLoss)\n   Validation loss: \(valLoss)")

        let started = Date()
        let optimizer = AdamW(gpt.parameters(), lr: lr, weightDecay: weightDecay)
        manualSeed(seed)
        let completed = try train(gpt, loaders: loaders, optimizer: optimizer, startContext: formatInput(firstVal), tokenizer: tokenizer)
        let sftURL = directory.appendingPathComponent(InstructionFinetuningSettings.sftFileName(for: gpt.config))
        guard completed else {
            try save(gpt.stateDict(), to: sftURL)
            FileHandle.standardError.write(Data("Interrupted; saved the weights as they are to \(sftURL.path).\n".utf8))
            throw ExitCode(130)
        }
        print(String(format: "Training completed in %.2f minutes.", Date().timeIntervalSince(started) / 60))
        print("Plot saved as \(directory.appendingPathComponent(TrainingRun.plotFileName).path)")
        print(separator)

        if !noResponses {
            print("Generating responses")
            gpt.eval()
            let live = isatty(STDOUT_FILENO) != 0
            let responses = try InstructionResponses.generate(
                model: gpt, entries: testData, tokenizer: tokenizer, maxNewTokens: maxNewTokens,
                contextSize: gpt.config.contextLength, batchSize: generateBatchSize) { done in
                if live { print("\r\u{1B}[K\(done)/\(testData.count) answered", terminator: ""); fflush(nil) }
            }
            if live { print("\r\u{1B}[K", terminator: "") }
            let url = directory.appendingPathComponent(InstructionResponses.fileName)
            try InstructionResponses.write(responses, to: url)
            print("Responses saved as \(url.path)")
        }
        try save(gpt.stateDict(), to: sftURL)
        print("Model saved as \(sftURL.path)")
    }

    /// The model, in eval mode: `--model` with the book's untied head (two equal Parameters), or
    /// `--checkpoint`; a failed download says how to get the weights otherwise.
    func loadModel() throws -> GPTModel {
        let gpt: GPTModel
        do {
            gpt = try ModelLoading.load(source, options: model, tieWeights: false)
        } catch let error as DownloadError where source.model != nil {
            throw DownloadError(description: """
                \(error.description)
                To finetune offline: download the weights on a connected machine (`ember download openai-community/gpt2-medium`) \
                and pass the folder to --model, or finetune a model trained with Ember (`ember train`, then --checkpoint out/\(TrainingRun.checkpointFileName)).
                """)
        }
        gpt.eval()
        print("Loaded model: \(source.model ?? source.checkpoint!) (emb_dim \(gpt.config.embDim), n_layers \(gpt.config.nLayers), n_heads \(gpt.config.nHeads), context_length \(gpt.config.contextLength))")
        print(String(repeating: "-", count: 50))
        return gpt
    }

    /// The book's `train_model_simple` — the shared ``TrainingLoop`` epoch and `generate_and_print_sample`
    /// after it — with a progress bar; Ctrl-C stops after the current step.
    /// - Returns: false when interrupted.
    func train(_ gpt: GPTModel, loaders: InstructionLoaders, optimizer: AdamW, startContext: String,
               tokenizer: GPT2Tokenizer) throws -> Bool {
        let interrupt = InterruptFlag()
        interrupt.install()
        defer { interrupt.uninstall() }
        let console = TrainingConsole(live: isatty(STDOUT_FILENO) != 0)
        let loop = TrainingLoop(model: gpt, optimizer: optimizer, evalFreq: evalFreq, evalIter: evalIter)
        let start = ContinuousClock.now
        var sessionTokens = 0, sessionSteps = 0
        let directory = URL(fileURLWithPath: output)
        for epoch in 0..<epochs {
            let completed = loop.trainEpoch(epoch, trainLoader: loaders.train, valLoader: loaders.validation, log: console.line,
                                            shouldStop: interrupt.isRaised) { step in
                sessionTokens += step.seen
                sessionSteps += 1
                let elapsed = start.duration(to: .now)
                console.progress(TrainingProgress(epoch: epoch + 1, numEpochs: epochs, step: step.stepInEpoch, stepsPerEpoch: loaders.train.count,
                                                  globalStep: step.globalStep, loss: step.loss.item(), sessionTokens: sessionTokens,
                                                  sessionSteps: sessionSteps,
                                                  elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
            }
            console.endProgress()
            try writeLog(loop.history, epochs: epoch + 1, to: directory)
            guard completed else { return false }
            try generateAndPrintSample(model: gpt, tokenizer: tokenizer, startContext: startContext, log: console.line)
        }
        return true
    }

    /// The loss log (JSON) and plot (the book's `plot_losses`), each written atomically.
    func writeLog(_ log: TrainingLog, epochs: Int, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try encoder.encode(log).write(to: directory.appendingPathComponent(TrainingRun.logFileName), options: .atomic)
        try LossPlot(log, numEpochs: max(1, epochs)).write(to: directory.appendingPathComponent(TrainingRun.plotFileName))
    }
}
