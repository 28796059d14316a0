import ArgumentParser
import Ember
import Foundation

/// `ember classify`: the book's `classify_review` (chapter 6 §6.8) with a classifier saved by
/// `ember finetune classify`.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify a text with a finetuned classifier (\"spam\" / \"not spam\").",
        discussion: """
        Reads review_classifier.pth and, beside it, review_classifier.json (written by `ember finetune classify`). \
        A state dict saved by the book's PyTorch code works too: the config then comes from its tensors' shapes \
        (n_heads = emb_dim / 64 unless --n-heads is given) and texts are padded to the context length unless --max-length is given.
        """)

    @Option(help: "The classifier's state dict (review_classifier.pth).")
    var checkpoint: String
    @Option(help: "Pad (and cut) the text to this many tokens (default: the length the classifier was trained with).")
    var maxLength: Int?
    @Option(help: "Attention heads, for a state dict without review_classifier.json.")
    var nHeads: Int?
    @Argument(help: "The text to classify.")
    var text: String

    func run() throws {
        let (model, info) = try ClassifierCheckpoint.load(URL(fileURLWithPath: checkpoint), nHeads: nHeads)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let label = try classifyText(text, model: model, tokenizer: tokenizer, maxLength: maxLength ?? info.maxLength)
        print(info.labels.indices.contains(label) ? info.labels[label] : "class \(label)")
    }
}
