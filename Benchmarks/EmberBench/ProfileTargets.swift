import EmberCore
import EmberLLM
import EmberNN
import Foundation

// Ember's side of two `ember-bench gpt` workloads alone, no PyTorch: quick loops to run under
// `perf record` while working on the kernels. The comparison with PyTorch is `ember-bench gpt`.

/// Cached greedy decoding of GPT-124M, float32 and bfloat16 weights (`--dtype=f32|bf16` for one).
func runDecodeBenchmark(quick: Bool) {
    let newTokens = quick ? 50 : 200, reps = quick ? 2 : 4
    let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)
    manualSeed(123)
    let model = GPTModel(cfg).eval()
    let prompt = Tensor([[6109, 3626, 6100, 345]])
    func tokensPerSecond() -> Double {
        _ = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 8)   // warm-up
        var best = Double.infinity
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: newTokens)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return Double(newTokens) / best
    }
    let only = CommandLine.arguments.first { $0.hasPrefix("--dtype=") }.map { String($0.dropFirst(8)) }
    print("GPT-124M cached greedy decoding, \(newTokens) tokens, threads: \(Threads.count)")
    var f32 = Double.nan
    if only == nil || only == "f32" {
        f32 = tokensPerSecond()
        print(String(format: "  float32   %.1f tok/s", f32))
    }
    if only == nil || only == "bf16" {
        model.castForInference(to: .bfloat16)
        let bf16 = tokensPerSecond()
        print(String(format: "  bfloat16  %.1f tok/s  (%.2fx float32)", bf16, bf16 / f32))
    }
}

/// Training steps of GPT-124M at context 256, batch 2 × 256, AdamW (as `ember-bench gpt`), and the
/// eval forward of the same batch; prints the best and the median step.
func runStepBenchmark(quick: Bool) {
    let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)
    manualSeed(123)
    let model = GPTModel(cfg)
    let optimizer = AdamW(model.parameters(), lr: 0.0004, weightDecay: 0.1)
    let x = Tensor.randint(0, 50257, [2, 256]), y = Tensor.randint(0, 50257, [2, 256])
    func timed(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    func step() { trainingStep(model, optimizer, x, y) }
    step()
    let steps = (0..<(quick ? 3 : 8)).map { _ in timed(step) }.sorted()
    model.eval()
    let evals = (0..<(quick ? 3 : 8)).map { _ in timed { _ = noGrad { model(x) } } }.sorted()
    print(String(format: "GPT-124M training step (batch 2x256, AdamW): best %.3f s, median %.3f s", steps[0], steps[steps.count / 2]))
    print(String(format: "eval forward: best %.3f s, median %.3f s", evals[0], evals[evals.count / 2]))
}
