import ArgumentParser
import Ember
import Foundation

/// The one place `ember generate` and `ember eval` turn their options into a model: today an
/// `ember train` checkpoint, the book's `model_and_optimizer.pth` or a bare state dict
/// (``TrainingCheckpoint/loadModel(contentsOf:fallbackConfig:)``; for the last two the model is the
/// `--preset`/dimension options, default the book's chapter-5 GPT-2 small with context 256).
enum ModelLoading {
    /// The model of `checkpoint`, in eval mode on the CPU; notes on standard error when the file's
    /// own config overrides given model options (except those in `alsoUsed`, which the command reads
    /// for something else too).
    /// - Throws: ``TrainingError`` for an unreadable file or weights that do not fit; `ValidationError`
    ///   for bad model options.
    static func load(checkpoint: String, options: ModelOptions, alsoUsed: Set<String> = []) throws -> GPTModel {
        let fallback = try options.config(contextDefault: 256)
        let (model, fromFile) = try TrainingCheckpoint.loadModel(contentsOf: URL(fileURLWithPath: checkpoint), fallbackConfig: fallback)
        let ignored = options.givenOptions.filter { !alsoUsed.contains($0) }
        if fromFile && !ignored.isEmpty {
            FileHandle.standardError.write(Data("note: the checkpoint has its own config; \(ignored.joined(separator: ", ")) ignored\n".utf8))
        }
        return model
    }
}
