import ArgumentParser
import Ember

/// The model options `train`, `generate` and `eval` share: a preset and per-dimension overrides.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model size: \(GPTConfig.trainingPresetNames.joined(separator: ", ")) (default gpt2-small; GPT-2 sizes use context_length 256, as the book's chapter 5).")
    var preset: String?
    @Option(help: "Embedding size (emb_dim).")
    var embDim: Int?
    @Option(help: "Transformer blocks (n_layers).")
    var nLayers: Int?
    @Option(help: "Attention heads (n_heads).")
    var nHeads: Int?
    @Option(help: "Context length (context_length).")
    var contextLength: Int?
    @Option(help: "Vocabulary size (vocab_size, at least 50257).")
    var vocabSize: Int?
    @Option(help: "Dropout rate (drop_rate).")
    var dropRate: Double?

    /// The options that were given, by flag name.
    var givenOptions: [String] {
        [("--preset", preset != nil), ("--emb-dim", embDim != nil), ("--n-layers", nLayers != nil), ("--n-heads", nHeads != nil),
         ("--context-length", contextLength != nil), ("--vocab-size", vocabSize != nil), ("--drop-rate", dropRate != nil)]
            .filter(\.1).map(\.0)
    }

    /// The preset with the overrides; GPT-2 presets get `contextDefault` unless `--context-length` is given.
    func config(contextDefault: Int) throws -> GPTConfig {
        let name = preset ?? "gpt2-small"
        guard var c = GPTConfig.trainingPreset(named: name) else {
            throw ValidationError("unknown preset '\(name)'; known: \(GPTConfig.trainingPresetNames.joined(separator: ", "))")
        }
        if name.lowercased() != "tiny" { c.contextLength = contextDefault }
        c = c.with(vocabSize: vocabSize, contextLength: contextLength, embDim: embDim, nHeads: nHeads, nLayers: nLayers, dropRate: dropRate)
        try c.validateForTraining()
        return c
    }
}
