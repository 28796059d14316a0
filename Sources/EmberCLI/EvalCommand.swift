import ArgumentParser
import Ember
import Foundation

/// `ember eval`: the book's chapter 5.1.3 losses of a model on a text — `calc_loss_loader` over the
/// training and validation split (as `ember train` prepares them), printed as the book prints them,
/// plus the perplexities (exercise 5.5).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Print a model's training and validation loss on a text as the book's chapter 5.1 does.",
        discussion: """
        The text is split as `ember train` splits it (the first --train-ratio of its characters train), cut into \
        windows of --context-length tokens (default 256, the book's chapter-5 context, or the model's context length \
        if smaller; it must not exceed the model's), batched by --batch-size (training batches shuffled after \
        torch.manual_seed(123), the last short one dropped), and the mean cross-entropy of every batch is printed \
        ("Training loss: …", "Validation loss: …") with its perplexity, exp(loss).
        """)

    @OptionGroup(title: "Model source")
    var source: ModelSourceOptions
    @Option(help: "UTF-8 text to evaluate on (default: the book's bundled the-verdict.txt).")
    var data: String?
    @Option(help: "Fraction of the characters in the training split.")
    var trainRatio = 0.9
    @Option(help: "Windows per batch.")
    var batchSize = 2
    @Option(help: "Where to run the model: cpu or vulkan:0.")
    var device = "cpu"

    @OptionGroup(title: "Model (for checkpoints without a saved config)")
    var model: ModelOptions

    func validate() throws {
        guard trainRatio > 0 && trainRatio < 1 else { throw ValidationError("--train-ratio must lie strictly between 0 and 1, got \(trainRatio)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        if let n = model.contextLength, n < 1 { throw ValidationError("--context-length must be positive, got \(n)") }
    }

    func run() throws {
        let device = try DeviceOption.resolve(device)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let text = try data.map { try TrainingText.load(contentsOf: URL(fileURLWithPath: $0)) } ?? TrainingText.theVerdict()
        // --context-length is the window length here (and, for a checkpoint without a config, the model's).
        let gpt = try ModelLoading.load(source, options: model, alsoUsed: ["--context-length"])
        gpt.to(device)
        let result = try evaluateLosses(model: gpt, text: text, tokenizer: tokenizer,
                                        contextLength: model.contextLength ?? min(256, gpt.config.contextLength),
                                        batchSize: batchSize, trainRatio: trainRatio, device: device)
        for line in result.lines { print(line) }
    }
}
