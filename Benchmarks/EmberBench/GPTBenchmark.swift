import EmberCore
import EmberLLM
import EmberNN
import Foundation

/// GPT_CONFIG_124M at context 256: one training step (batch 2 × 256, dropout 0.1, AdamW), an eval
/// forward of the same batch, model construction and greedy generation (float32, then bfloat16
/// weights) — in Ember and, in the same run, in PyTorch eager with the same thread count (Benchmarks/pytorch/gpt_bench.py).
func runGPTBenchmark(quick: Bool) {
    let reps = quick ? 2 : 5
    func best(_ n: Int, _ body: () -> Void) -> Double {
        var b = Double.infinity
        for _ in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            b = min(b, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return b
    }
    let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)
    manualSeed(123)
    var model: GPTModel! = nil
    let construct = best(1) { model = GPTModel(cfg) }
    let optimizer = AdamW(model.parameters(), lr: 0.0004, weightDecay: 0.1)
    let x = Tensor.randint(0, 50257, [2, 256]), y = Tensor.randint(0, 50257, [2, 256])
    func step() {
        model.train()
        optimizer.zeroGrad()
        let loss = crossEntropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
    }
    step()   // warm-up: first-touch of all buffers
    let train = best(reps) { step() }
    model.eval()
    let eval = best(reps) { _ = noGrad { model(x) } }
    let newTokens = quick ? 50 : 200
    let gen = best(1) {
        var idx = Tensor([[6109, 3626, 6100, 345]])
        noGrad {
            for _ in 0..<newTokens {
                let logits = model(idx[0..., (-256)...])[0..., -1, 0...]
                idx = Tensor.cat([idx, logits.argmax(-1, keepdim: true)], dim: 1)
            }
        }
    }
    // The same model with bfloat16 weights (float32 arithmetic), as `ember generate --dtype bf16`.
    model.castForInference(to: .bfloat16)
    let genBF16 = best(1) {
        var idx = Tensor([[6109, 3626, 6100, 345]])
        noGrad {
            for _ in 0..<newTokens {
                let logits = model(idx[0..., (-256)...])[0..., -1, 0...]
                idx = Tensor.cat([idx, logits.argmax(-1, keepdim: true)], dim: 1)
            }
        }
    }
    let ember: [String: Double] = ["construct_s": construct, "train_step_s": train, "eval_forward_s": eval,
                                   "generate_tokens_per_s": Double(newTokens) / gen,
                                   "generate_bf16_tokens_per_s": Double(newTokens) / genBF16]
    let torch = runPyTorch(quick: quick)
    print("GPT-124M, context 256, batch 2 — threads: \(Threads.count), GEMM: \(blasDescription)")
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print(pad("workload", 30) + pad("Ember", 14) + pad("PyTorch", 14) + "Ember time / PyTorch time")
    for (key, label, unit) in [("train_step_s", "training step (AdamW)", "s"), ("eval_forward_s", "eval forward", "s"),
                               ("construct_s", "model construction", "s"), ("generate_tokens_per_s", "generation (no cache)", "tok/s"),
                               ("generate_bf16_tokens_per_s", "generation, bf16 weights", "tok/s")] {
        let e = ember[key]!
        let t = torch?[key]
        // Times compare directly; for a rate (tokens/s) the time ratio is the inverse.
        let ratio = t.map { String(format: "%.2f", unit == "s" ? e / $0 : $0 / e) } ?? "n/a"
        print(pad(label, 30) + pad(String(format: "%.3f %@", e, unit), 14) + pad(t.map { String(format: "%.3f %@", $0, unit) } ?? "n/a", 14) + ratio)
    }
}

/// Runs the PyTorch side; nil when its virtual environment is missing.
func runPyTorch(quick: Bool) -> [String: Double]? {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let python = here.appendingPathComponent("pytorch/.venv/bin/python").path
    guard FileManager.default.fileExists(atPath: python) else {
        print("(PyTorch side skipped: run `bash Benchmarks/pytorch/setup.sh` first)")
        return nil
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [here.appendingPathComponent("pytorch/gpt_bench.py").path, "--threads", String(Threads.count)] + (quick ? ["--quick"] : [])
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Double]
}
