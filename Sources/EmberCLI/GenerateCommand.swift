import ArgumentParser
import Ember
import Foundation

/// `ember generate`: text from a checkpoint as the book's chapter 5.3 samples it
/// (`torch.manual_seed(123)`, `generate(…, top_k=25, temperature=1.4)`), streamed to standard
/// output token by token and stopped at `<|endoftext|>`, with Hugging Face's top-p and repetition
/// penalty on request.
///
/// Takes `--checkpoint`: an `ember train` checkpoint (its config is used), the book's
/// `model_and_optimizer.pth`, or a bare `torch.save(model.state_dict())` file (for those two the model
/// is `--preset`/dimension options, default the book's chapter-5 GPT-2 small with context 256); or
/// `--model`: pretrained weights (a Hub id such as `openai-community/gpt2`, downloaded on first use, a
/// GPT-2 size name, a Hugging Face model directory or a weights file; see ``ModelLoading``).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a checkpoint or pretrained weights as the book's chapter 5 does.")

    @OptionGroup(title: "Model source")
    var source: ModelSourceOptions
    @Option(help: "The text to continue.")
    var prompt = "Every effort moves you"
    @Option(help: "Tokens to generate.")
    var maxNewTokens = 25
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature = 1.4
    @Option(help: "Sample among the k most likely tokens (0: all).")
    var topK = 25
    @Option(help: "Nucleus sampling: sample among the most likely tokens whose probabilities add up to p, 0...1 (1: all).")
    var topP = 1.0
    @Option(help: "Repetition penalty (Hugging Face's): > 1 makes tokens already in the text less likely (1: none).")
    var repetitionPenalty = 1.0
    @Option(help: "Stop before this token id (50256: GPT-2's <|endoftext|>).")
    var eosId = 50256
    @Flag(help: "Never stop early: generate --max-new-tokens tokens even past --eos-id.")
    var ignoreEos = false
    @Option(help: "torch.manual_seed before sampling.")
    var seed = 123
    @Option(help: "Where to run the model: cpu or vulkan:0.")
    var device = "cpu"
    @Option(help: "Weight dtype for generation: f32, bf16 or f16 (16-bit weights, float32 arithmetic).")
    var dtype = "f32"
    @Flag(help: "Print the largest |logit difference| of --dtype against float32 on the prompt (to standard error).")
    var compareDtype = false
    @Flag(help: "Recompute every position each step instead of using the KV cache (same tokens, slower).")
    var noKvCache = false

    @OptionGroup(title: "Model (for checkpoints without a saved config)")
    var model: ModelOptions

    func validate() throws {
        guard topK >= 0 else { throw ValidationError("--top-k must be 0 (no top-k) or positive, got \(topK)") }
        guard maxNewTokens >= 0 else { throw ValidationError("--max-new-tokens must not be negative, got \(maxNewTokens)") }
        guard temperature.isFinite && temperature >= 0 else { throw ValidationError("--temperature must be 0 or positive, got \(temperature)") }
        guard topP >= 0 && topP <= 1 else { throw ValidationError("--top-p must lie in [0, 1], got \(topP)") }
        guard repetitionPenalty > 0 && repetitionPenalty.isFinite else { throw ValidationError("--repetition-penalty must be positive, got \(repetitionPenalty)") }
        guard InferenceDType.named(dtype) != nil else { throw ValidationError("--dtype must be f32, bf16 or f16, got \(dtype)") }
    }

    func run() throws {
        let device = try DeviceOption.resolve(device)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let gpt = try ModelLoading.load(source, options: model)
        let weightType = InferenceDType.named(dtype)!
        if weightType != .float32 || compareDtype {
            // The comparison runs the prompt (cropped to the context) through both precisions.
            let ids = try tokenizer.encode(prompt, allowedSpecial: ["<|endoftext|>"]).suffix(gpt.config.contextLength)
            let idx = compareDtype && !ids.isEmpty ? Tensor(array: ids.map(Int64.init), shape: [1, ids.count]) : nil
            if let diff = gpt.castForInference(to: weightType, comparingLogitsOn: idx) {
                FileHandle.standardError.write(Data("max |logit difference| vs float32: \(diff) (\(weightType), \(ids.count) prompt positions)\n".utf8))
            }
        }
        gpt.to(device)
        // The text as it comes: the prompt, then each token (a character split across tokens waits for its end).
        let sample = try samplePrompt(model: gpt, tokenizer: tokenizer, prompt: prompt, maxNewTokens: maxNewTokens,
                                      temperature: temperature, topK: topK == 0 ? nil : topK,
                                      topP: topP < 1 ? topP : nil, repetitionPenalty: repetitionPenalty != 1 ? repetitionPenalty : nil,
                                      eosId: ignoreEos ? nil : eosId, seed: seed, useCache: !noKvCache) { text in
            print(text, terminator: "")
            fflush(nil)   // nil: every C stream (stdout itself is not concurrency-safe to name)
        }
        print()
        if let note = sample.cropNote(contextLength: gpt.config.contextLength) {
            FileHandle.standardError.write(Data((note + "\n").utf8))
        }
    }
}
