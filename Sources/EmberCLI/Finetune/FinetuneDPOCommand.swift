import ArgumentParser
import Ember
import Foundation

/// `ember finetune dpo`: the chapter-7 bonus notebook (`dpo-from-scratch.ipynb`) — Direct Preference
/// Optimization of an instruction-finetuned model on the bundled `instruction-data-with-preference.json`
/// (or `--data`), with the notebook's settings: the book's 935/55/110 split, batch 8 (training shuffled,
/// last short batch dropped), prompt tokens masked, `allowed_max_length` = the context length, seed 123,
/// AdamW lr 5e-6 and weight decay 0.01, 1 epoch, β 0.1, evaluation every 5 steps on 5 batches. The
/// reference model is a second, frozen copy of the starting weights.
struct FinetuneDPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Align an instruction-finetuned model with DPO, as the book's chapter-7 bonus notebook does.",
        discussion: """
        Start from the book's instruction-finetuned model: --checkpoint gpt2-medium355M-sft.pth (written by the book's \
        chapter 7, or `ember finetune instruct`) or any Ember checkpoint; --model takes pretrained weights (a Hub id, a GPT-2 \
        size, a directory). Prints the notebook's lines (loss and reward margins), writes into --output \
        \(Self.lossPlotName), \(Self.marginPlotName) and \(Self.trackingName), and saves the tuned model's state dict \
        (torch.load reads it). Ctrl-C stops after the current step and saves the model there.
        """)

    static let lossPlotName = "dpo-loss-plot.svg"
    static let marginPlotName = "dpo-reward-margins-plot.svg"
    static let trackingName = "dpo-tracking.json"

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "Preference data: a JSON array of entries with instruction, input, output, chosen, rejected (default: the bundled instruction-data-with-preference.json).")
    var data: String?
    @Option(help: "AdamW learning rate.")
    var lr = 5e-6
    @Option(help: "AdamW weight decay.")
    var weightDecay = 0.01
    @Option(help: "Epochs.")
    var epochs = 1
    @Option(help: "Examples per batch.")
    var batchSize = 8
    @Option(help: "DPO β (0.1 to 0.5 is usual).")
    var beta = 0.1
    @Option(help: "Evaluate every N steps.")
    var evalFreq = 5
    @Option(help: "Batches per evaluation.")
    var evalIter = 5
    @Option(help: "torch.manual_seed before the loaders and before training.")
    var seed = 123
    @Option(help: "Cut batches to this many tokens (default: the model's context length; the notebook's 1024).")
    var allowedMaxLength: Int?
    @Flag(help: "Let the prompt tokens count in the log-probabilities (the notebook masks them).")
    var noMaskPromptTokens = false
    @Option(help: "Where to train: cpu or vulkan:0.")
    var device = "cpu"
    @Option(help: "Folder for the plots and the tracking record.")
    var output = "out"
    @Option(help: "Where to save the tuned model's state dict (default: <output>/<checkpoint name>-dpo.pth).")
    var saveAs: String?

    func validate() throws {
        for (name, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--eval-freq", evalFreq), ("--eval-iter", evalIter)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if let allowedMaxLength, allowedMaxLength < 2 { throw ValidationError("--allowed-max-length must be at least 2, got \(allowedMaxLength)") }
        if !(lr > 0) { throw ValidationError("--lr must be positive, got \(lr)") }
        if !(beta > 0) { throw ValidationError("--beta must be positive, got \(beta)") }
    }

    /// The policy or the reference: the same weights every time (`tieWeights: false`, the book's `assign`).
    func loadModel() throws -> GPTModel {
        if let checkpoint = source.checkpoint {
            do { return try GPTModel.fromPretrained(URL(fileURLWithPath: checkpoint), tieWeights: false) } catch {
                throw ValidationError("\(error.description) (the DPO notebook starts from the chapter-7 model gpt2-medium355M-sft.pth: train it with the book's ch07 code or `ember finetune instruct`, or pass --model for pretrained weights)")
            }
        }
        return try ModelLoading.pretrained(source.model!, revision: source.revision, tieWeights: false)
    }

    /// `<output>/<name>-dpo.pth`, the name from the checkpoint file or the model.
    var modelPath: URL {
        if let saveAs { return URL(fileURLWithPath: saveAs) }
        let name = URL(fileURLWithPath: source.checkpoint ?? source.model!).deletingPathExtension().lastPathComponent
        return URL(fileURLWithPath: output).appendingPathComponent("\(name.isEmpty ? "model" : name)-dpo.pth")
    }

    func run() throws {
        let device = try DeviceOption.resolve(device)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let entries = try data.map { try InstructionData.load(PreferenceEntry.self, from: URL(fileURLWithPath: $0)) }
            ?? InstructionData.bundledPreferences()
        let (trainData, valData, _) = InstructionData.split(entries)
        let policy = try loadModel().to(device)
        let reference = try loadModel().to(device)
        reference.eval()
        for p in reference.parameters() { p.requiresGrad = false }
        let maxLength = allowedMaxLength ?? policy.config.contextLength
        guard maxLength <= policy.config.contextLength else {
            throw ValidationError("--allowed-max-length \(maxLength) exceeds the model's context length \(policy.config.contextLength)")
        }
        let mask = !noMaskPromptTokens
        manualSeed(seed)
        let trainLoader = PreferenceLoader(preferences: try PreferenceDataset(trainData, tokenizer: tokenizer), batchSize: batchSize,
                                           shuffle: true, dropLast: true, allowedMaxLength: maxLength, maskPromptTokens: mask, device: device)
        let valLoader = PreferenceLoader(preferences: try PreferenceDataset(valData, tokenizer: tokenizer), batchSize: batchSize,
                                         allowedMaxLength: maxLength, maskPromptTokens: mask, device: device)
        guard trainLoader.count > 0, valLoader.count > 0 else {
            throw ValidationError("the data splits into \(trainData.count) training and \(valData.count) validation entries; DPO needs at least one full training batch of \(batchSize) and one validation entry")
        }
        let c = policy.config
        print("Policy and reference GPTModel: \(policy.parameters().reduce(0) { $0 + $1.numel }) parameters each (emb_dim \(c.embDim), n_layers \(c.nLayers), n_heads \(c.nHeads), context_length \(c.contextLength)); \(trainLoader.count) training and \(valLoader.count) validation batches")

        let interrupt = InterruptFlag()
        interrupt.install()
        defer { interrupt.uninstall() }
        let console = TrainingConsole(live: isatty(STDOUT_FILENO) != 0)
        let started = Date()
        var sessionTokens = 0
        manualSeed(seed)
        let optimizer = AdamW(policy.parameters(), lr: lr, weightDecay: weightDecay)
        let startEntry = valData.count > 2 ? valData[2] : valData[0]
        let tracking = try trainModelDPOSimple(
            policyModel: policy, referenceModel: reference, trainLoader: trainLoader, valLoader: valLoader, optimizer: optimizer,
            numEpochs: epochs, beta: beta, evalFreq: evalFreq, evalIter: evalIter, startContext: formatInput(startEntry),
            tokenizer: tokenizer, device: device, log: console.line, shouldStop: interrupt.isRaised,
            afterStep: { step in
                sessionTokens += step.tokens
                console.progress(TrainingProgress(epoch: step.epoch + 1, numEpochs: epochs, step: step.stepInEpoch, stepsPerEpoch: trainLoader.count,
                                                  globalStep: step.globalStep, loss: step.loss.item(), sessionTokens: sessionTokens,
                                                  sessionSteps: step.globalStep + 1, elapsed: Date().timeIntervalSince(started)))
            })
        console.endProgress()
        if !interrupt.isRaised() {
            print(String(format: "Training completed in %.2f minutes.", Date().timeIntervalSince(started) / 60))
        }
        try writeOutputs(policy: policy, tracking: tracking)
        if interrupt.isRaised() {
            FileHandle.standardError.write(Data("Interrupted; saved the model as trained so far to \(modelPath.path).\n".utf8))
            throw ExitCode(130)
        }
    }

    /// The two plots of the notebook (`plot_losses` of the losses and of the reward margins), the
    /// tracking record and the model (`torch.save(model.state_dict(), …)`), each written atomically.
    func writeOutputs(policy: GPTModel, tracking: DPOTracking) throws {
        let directory = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: modelPath.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !tracking.trainLosses.isEmpty {
            try LossPlot(tracking.lossLog, numEpochs: epochs).write(to: directory.appendingPathComponent(Self.lossPlotName))
            try LossPlot(tracking.rewardMarginLog, numEpochs: epochs, label: "reward margins")
                .write(to: directory.appendingPathComponent(Self.marginPlotName))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(tracking).write(to: directory.appendingPathComponent(Self.trackingName), options: .atomic)
        try save(policy.stateDict(), to: modelPath)
        print("Wrote \(modelPath.path), \(Self.lossPlotName), \(Self.marginPlotName) and \(Self.trackingName)")
    }
}
