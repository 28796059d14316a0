import ArgumentParser
import Ember
import Foundation

/// `ember finetune classify`: the book's chapter 6 end to end — the SMS spam data prepared and
/// split as the book does (train/validation/test.csv), the model surgery (new 2-class head, last
/// block and final norm trainable), the accuracies and losses before training, the training log,
/// the accuracies after it, loss and accuracy plots as SVG and `review_classifier.pth`.
struct FinetuneClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Finetune a GPT model into a spam classifier as the book's chapter 6 does.",
        discussion: """
        The book's run is `ember finetune classify --model openai-community/gpt2` (GPT-2 small, 124M: test accuracy \
        95.67% in the book). Writes into --output train.csv, validation.csv and test.csv (the book's splits, byte for \
        byte), loss-plot.svg, accuracy-plot.svg, review_classifier.pth (the book's `torch.save(model.state_dict())`, \
        which PyTorch loads) and review_classifier.json (config and max length for `ember classify`). \
        A model trained with `ember train` works too (--checkpoint out/model_and_optimizer.pth): everything runs offline.
        """)

    @OptionGroup(title: "Model source")
    var source: ModelSourceOptions
    @Option(help: "The SMS Spam Collection TSV (default: the bundled copy the book downloads).")
    var data: String?
    @Option(help: "Folder for the CSV splits, plots and the classifier.")
    var output = "classifier"
    @Option(help: "Epochs.")
    var epochs = 5
    @Option(help: "AdamW learning rate (default 5e-5; with --lora 8e-4, appendix E's).")
    var lr: Double?
    @Flag(help: "Train LoRA adapters instead (appendix E): freeze everything, wrap every Linear, the new head included.")
    var lora = false
    @Option(help: "LoRA rank (with --lora).")
    var rank = 16
    @Option(help: "LoRA alpha; the update is scaled by alpha / rank (with --lora).")
    var alpha = 16.0
    @Option(help: "AdamW weight decay.")
    var weightDecay = 0.1
    @Option(help: "Examples per batch.")
    var batchSize = 8
    @Option(help: "Evaluate every N steps.")
    var evalFreq = 50
    @Option(help: "Batches per evaluation and per epoch-end accuracy.")
    var evalIter = 5
    @Option(help: "Pad (and cut) every text to this many tokens (default: the longest training text, 120 for the book's data); at most the model's context length.")
    var maxLength: Int?
    @Option(help: "torch.manual_seed before the head, the evaluations and training; numpy's random_state of the data split.")
    var seed = 123
    @Option(help: "Where to train: cpu or vulkan:0.")
    var device = "cpu"

    func validate() throws {
        for (name, value) in [("--epochs", epochs), ("--batch-size", batchSize), ("--eval-freq", evalFreq), ("--eval-iter", evalIter)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if let maxLength, maxLength < 1 { throw ValidationError("--max-length must be at least 1, got \(maxLength)") }
        guard seed >= 0 && seed <= Int(UInt32.max) else { throw ValidationError("--seed must lie in 0…\(UInt32.max) (numpy's RandomState), got \(seed)") }
        if let lr, !(lr > 0) { throw ValidationError("--lr must be positive, got \(lr)") }
        guard rank >= 1 else { throw ValidationError("--rank must be at least 1, got \(rank)") }
        guard alpha > 0, alpha.isFinite else { throw ValidationError("--alpha must be positive, got \(alpha)") }
    }

    func run() throws {
        let device = try DeviceOption.resolve(device)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let directory = URL(fileURLWithPath: output)

        // 6.4 first (loading draws nothing): a missing model stops the run before anything is written.
        let model = try loadModel()
        let context = model.pos_emb.weight.shape[0]

        // 6.2: the data, split and written as the book writes it.
        let splits = try SpamSplits(tsv: data.map { URL(fileURLWithPath: $0) } ?? BundledResource.smsSpamCollection(), seed: UInt32(seed))
        let csvs = try splits.write(to: directory)
        let spam = splits.messages.filter { $0.label == "spam" }.count
        print("Data: \(splits.messages.count) messages (\(splits.messages.count - spam) ham, \(spam) spam); balanced \(splits.balanced.count); train \(splits.train.count), validation \(splits.validation.count), test \(splits.test.count) → \(csvs.map(\.path).joined(separator: ", "))")

        // 6.3: datasets and loaders.
        let train = try SpamDataset(csv: csvs[0], tokenizer: tokenizer, maxLength: maxLength)
        if let maxLength, maxLength > context {
            throw ValidationError("--max-length \(maxLength) exceeds the model's context length \(context) (rasbt/LLMs-from-scratch#666); use at most \(context)")
        }
        guard train.maxLength <= context else {
            throw ValidationError("the longest training text has \(train.maxLength) tokens but the model's context length is \(context); pass --max-length \(context) (or less) to cut the texts")
        }
        let validation = try SpamDataset(csv: csvs[1], tokenizer: tokenizer, maxLength: train.maxLength)
        let test = try SpamDataset(csv: csvs[2], tokenizer: tokenizer, maxLength: train.maxLength)
        manualSeed(UInt64(seed))
        let loaders = ClassificationLoaders(train: train, validation: validation, test: test, batchSize: batchSize)
        print("max_length \(train.maxLength); \(loaders.train.count) training, \(loaders.validation.count) validation and \(loaders.test.count) test batches")

        // 6.5: the surgery.
        model.prepareForClassification(numClasses: 2, seed: UInt64(seed))
        model.to(device)
        print("Trainable parameters: \(model.numParameters(trainableOnly: true)) of \(model.numParameters())")

        // 6.6: before training.
        manualSeed(UInt64(seed))
        printAccuracies(model, loaders, device: device, numBatches: 10)
        let losses: [(String, Double)] = noGrad {
            [("Training", calcClassificationLossLoader(loaders.train, model: model, device: device, numBatches: 5)),
             ("Validation", calcClassificationLossLoader(loaders.validation, model: model, device: device, numBatches: 5)),
             ("Test", calcClassificationLossLoader(loaders.test, model: model, device: device, numBatches: 5))]
        }
        for (name, loss) in losses { print("\(name) loss: " + String(format: "%.3f", loss)) }

        // Appendix E: everything frozen, every Linear (the new head included) wrapped with LoRA.
        if lora {
            model.requiresGrad_(false)
            _ = try replaceLinearWithLoRA(model, rank: rank, alpha: alpha)
            print("Total trainable LoRA parameters: \(formatThousands(model.numParameters(trainableOnly: true))) (rank \(rank), alpha \(alpha))")
        }

        // 6.7: training.
        manualSeed(UInt64(seed))
        let optimizer = AdamW(model.parameters(), lr: lr ?? (lora ? 8e-4 : 5e-5), weightDecay: weightDecay)
        let console = TrainingConsole(live: isatty(STDOUT_FILENO) != 0)
        let started = Date()
        var sessionSteps = 0, sessionTokens = 0
        let result = trainClassifierSimple(
            model: model, trainLoader: loaders.train, valLoader: loaders.validation, optimizer: optimizer, device: device,
            numEpochs: epochs, evalFreq: evalFreq, evalIter: evalIter, log: console.line
        ) { epoch, step in
            sessionSteps += 1
            sessionTokens += step.seen * train.maxLength
            console.progress(TrainingProgress(epoch: epoch + 1, numEpochs: epochs, step: step.stepInEpoch, stepsPerEpoch: loaders.train.count,
                                              globalStep: step.globalStep, loss: step.loss.item(), sessionTokens: sessionTokens,
                                              sessionSteps: sessionSteps, elapsed: Date().timeIntervalSince(started)))
        }
        console.endProgress()
        print(String(format: "Training completed in %.2f minutes.", Date().timeIntervalSince(started) / 60))

        // Plots (the book's plot_values), accuracies on the full sets, the classifier.
        let log = result.losses
        try LossPlot(trainLosses: log.trainLosses, valLosses: log.valLosses, tokensSeen: log.tokensSeen,
                     epochsSeen: log.epochsSeen(numEpochs: epochs), valueLabel: "loss", seenLabel: "Examples seen")
            .write(to: directory.appendingPathComponent("loss-plot.svg"))
        let n = result.trainAccs.count
        let examples = (0..<n).map { n > 1 ? result.examplesSeen * $0 / (n - 1) : result.examplesSeen }
        let epochsSeen = (0..<n).map { n > 1 ? Double(epochs) * Double($0) / Double(n - 1) : 0 }
        try LossPlot(trainLosses: result.trainAccs, valLosses: result.valAccs, tokensSeen: examples, epochsSeen: epochsSeen,
                     valueLabel: "accuracy", seenLabel: "Examples seen")
            .write(to: directory.appendingPathComponent("accuracy-plot.svg"))
        printAccuracies(model, loaders, device: device, numBatches: nil)

        let checkpoint = ClassifierCheckpoint(config: model.config, maxLength: train.maxLength)
        let url = directory.appendingPathComponent("review_classifier.pth")
        if lora {
            // The classifier with the adapters merged (plain keys, what `ember classify` and PyTorch's
            // GPTModel read), and the adapters alone in PEFT's format.
            model.to(.cpu)
            try checkpoint.save(try model.mergedLoRACopy(), to: url)
            try PEFTAdapter.save(model, to: directory.appendingPathComponent("adapter"), baseModelNameOrPath: source.model ?? source.checkpoint)
            print("Wrote the LoRA adapters (PEFT format) to \(directory.appendingPathComponent("adapter").path)")
        } else {
            try checkpoint.save(model.to(.cpu), to: url)
        }
        model.to(device)
        for text in ["You are a winner you have been specially selected to receive $1000 cash or a $2000 award.",
                     "Hey, just wanted to check if we're still on for dinner tonight? Let me know!"] {
            print("\(try classifyReview(text, model: model, tokenizer: tokenizer, device: device, maxLength: train.maxLength)): \(text)")
        }
        print("Wrote \(url.path), \(ClassifierCheckpoint.infoURL(for: url).lastPathComponent), loss-plot.svg and accuracy-plot.svg")
    }

    /// The book's three accuracy lines (`calc_accuracy_loader` on train, validation, test).
    func printAccuracies<A: Dataset, B: Dataset>(_ model: GPTModel, _ loaders: ClassificationLoaders<A, B>, device: Device, numBatches: Int?) {
        let train = calcAccuracyLoader(loaders.train, model: model, device: device, numBatches: numBatches)
        let validation = calcAccuracyLoader(loaders.validation, model: model, device: device, numBatches: numBatches)
        let test = calcAccuracyLoader(loaders.test, model: model, device: device, numBatches: numBatches)
        print(String(format: "Training accuracy: %.2f%%\nValidation accuracy: %.2f%%\nTest accuracy: %.2f%%", train * 100, validation * 100, test * 100))
    }

    /// The model the options name; without network or weights, says how to get them.
    func loadModel() throws -> GPTModel {
        do {
            return try ModelLoading.load(source, options: try ModelOptions.parse([]))
        } catch let error as DownloadError where source.model != nil {
            throw DownloadError(description: """
                \(error.description)
                The book finetunes OpenAI's GPT-2 small: with network, `ember download openai-community/gpt2` (or this \
                command with --model openai-community/gpt2) puts it in the Hugging Face cache; offline, pass --model with a \
                folder holding config.json and model.safetensors, or --checkpoint with a model trained by `ember train`.
                """)
        }
    }
}
