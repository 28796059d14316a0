import EmberCore
import EmberIO
import EmberNN
import Foundation
import OrderedCollections

extension GPTModel {
    /// Writes the model as a Hugging Face GPT-2 directory that transformers'
    /// `GPT2LMHeadModel.from_pretrained(dir)` loads and that gives the same logits (the inverse of
    /// ``fromPretrained(_:config:dtype:tieWeights:dropRate:)``, through ``GPT2WeightMap``):
    /// `config.json` (`GPT2Config`: `n_embd`, `n_layer`, `n_head`, `n_positions` = `context_length`,
    /// `vocab_size`, `gelu_new`, `layer_norm_epsilon` 1e-5, dropout rates = `drop_rate`) and
    /// `model.safetensors` (float32, `transformer.`-prefixed keys, metadata `{"format": "pt"}` as
    /// `save_pretrained` writes; `lm_head.weight` only when the head is not tied to `tok_emb`), plus
    /// `generation_config.json` with GPT-2's `<|endoftext|>` (50256) as bos/eos when the vocabulary has it.
    ///
    /// Each file is written to a temporary file and renamed, so a reader never sees half a file.
    /// - Parameter directory: created if absent; files of the same names are replaced.
    /// - Throws: ``PretrainedError/writeFailed(path:reason:)``.
    public func saveHuggingFace(to directory: URL) throws(PretrainedError) {
        guard let hf = GPT2WeightMap.hfStateDict(fromBook: stateDict(), config: config) else {
            throw .writeFailed(path: directory.path, reason: "the model's state dict lacks keys of the GPT-2 mapping")
        }
        var tensors = OrderedDictionary<String, Tensor>()
        for (k, v) in hf where k != "lm_head.weight" { tensors["transformer." + k] = v }
        if let head = hf["lm_head.weight"] { tensors["lm_head.weight"] = head }
        var hfConfig = HFGPT2Config(config)
        hfConfig.tieWordEmbeddings = hf["lm_head.weight"] == nil
        if config.vocabSize <= 50256 { hfConfig.eosTokenId = nil }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(hfConfig).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
            if config.vocabSize > 50256 {
                let generation = #"{"bos_token_id": 50256, "eos_token_id": 50256}"# + "\n"
                try Data(generation.utf8).write(to: directory.appendingPathComponent("generation_config.json"), options: .atomic)
            }
            try saveSafetensors(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent("model.safetensors"))
        } catch {
            throw .writeFailed(path: directory.path, reason: "\(error)")
        }
    }
}
