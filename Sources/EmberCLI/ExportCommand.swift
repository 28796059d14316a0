import ArgumentParser
import Ember
import Foundation

/// `ember export --checkpoint FILE --to DIR`: a trained model as a Hugging Face GPT-2 directory
/// (`config.json` + `model.safetensors`) that `GPT2LMHeadModel.from_pretrained(DIR)` loads with the same
/// logits — so a model trained in Ember goes to the Python ecosystem.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint as a Hugging Face GPT-2 directory (config.json + model.safetensors).")

    @Option(help: "An `ember train` checkpoint, the book's model_and_optimizer.pth or gpt2-*.pth, a state dict, or a model directory.")
    var checkpoint: String
    @Option(help: "The directory to write (created if absent).")
    var to: String

    func run() throws {
        do {
            let model = try GPTModel.fromPretrained(URL(fileURLWithPath: checkpoint), tieWeights: false)
            let dir = URL(fileURLWithPath: to)
            try model.saveHuggingFace(to: dir)
            print("wrote \(dir.path)/config.json and model.safetensors (\(model.config.parameterCount) parameters; "
                + "context_length \(model.config.contextLength) as n_positions)")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
