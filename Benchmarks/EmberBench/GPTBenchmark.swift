import EmberCore
import EmberLLM
import EmberNN
import Foundation

/// GPT_CONFIG_124M at context 256: one training step (batch 2 × 256, dropout 0.1, AdamW), an eval
/// forward of the same batch, model construction and greedy generation without and with the KV
/// cache (book chapter 4 bonus), and cached with bfloat16 weights — in Ember and, in the same run,
/// in PyTorch eager with the same thread count (Benchmarks/pytorch/gpt_bench.py). Cached decoding
/// reads every weight once per token, so its bound is memory bandwidth: the benchmark measures read
/// bandwidth and prints the measured rate as a percentage of `bandwidth / weight bytes per token`.
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
    // Ember's side in a scope of its own: the model, optimizer and their cached blocks are given
    // back before PyTorch's process starts (both at once do not fit in a small machine's memory).
    let newTokens = quick ? 50 : 200
    let ember: [String: Double], weightBytes: Double, cachedEqualsUncached: Bool
    do {
        manualSeed(123)
        var model: GPTModel! = nil
        let construct = best(1) { model = GPTModel(cfg) }
        let optimizer = AdamW(model.parameters(), lr: 0.0004, weightDecay: 0.1)
        let x = Tensor.randint(0, 50257, [2, 256]), y = Tensor.randint(0, 50257, [2, 256])
        func step() { trainingStep(model, optimizer, x, y) }
        step()   // warm-up: first-touch of all buffers
        let train = best(reps) { step() }
        model.eval()
        let eval = best(reps) { _ = noGrad { model(x) } }
        let prompt = Tensor([[6109, 3626, 6100, 345]])
        var uncachedIds = prompt
        let gen = best(1) {
            var idx = prompt
            noGrad {
                for _ in 0..<newTokens {
                    let logits = model(idx[0..., (-256)...])[0..., -1, 0...]
                    idx = Tensor.cat([idx, logits.argmax(-1, keepdim: true)], dim: 1)
                }
            }
            uncachedIds = idx
        }
        var cachedIds = prompt
        _ = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 8)   // warm-up: cache allocation
        let genCached = best(reps) { cachedIds = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: newTokens) }
        model.resetKVCache()
        // The same model with bfloat16 weights (float32 arithmetic), as `ember generate --dtype bf16`.
        model.castForInference(to: .bfloat16)
        _ = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 8)
        let genCachedBF16 = best(reps) { _ = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: newTokens) }
        model.resetKVCache()
        ember = ["construct_s": construct, "train_step_s": train, "eval_forward_s": eval,
                 "generate_tokens_per_s": Double(newTokens) / gen,
                 "generate_cached_tokens_per_s": Double(newTokens) / genCached,
                 "generate_cached_bf16_tokens_per_s": Double(newTokens) / genCachedBF16]
        // Bytes a decoding step reads: every parameter except the two embedding tables, of which it
        // reads one row each (float32). The KV cache itself (≤ 2·12·256·768 floats) is left out.
        weightBytes = Double(4 * (model.numParameters() - model.tok_emb.weight.numel - model.pos_emb.weight.numel + 2 * cfg.embDim))
        cachedEqualsUncached = cachedIds.toInt64s() == uncachedIds.toInt64s()
    }
    emptyCache()
    let floor = gemmFloor(cfg, batch: 2, reps: reps)
    let bandwidth = readBandwidth(bytes: quick ? 1 << 28 : 1 << 30)
    let tokensBound = bandwidth / weightBytes
    let torch = runPyTorch(quick: quick)
    print("GPT-124M, context 256, batch 2 — threads: \(Threads.count), GEMM: \(blasDescription)")
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print(pad("workload", 70) + pad("Ember", 14) + pad("PyTorch", 14) + "Ember time / PyTorch time")
    for (key, label, unit) in [("train_step_s", "training step (AdamW)", "s"), ("eval_forward_s", "eval forward", "s"),
                               ("construct_s", "model construction", "s"),
                               ("generate_tokens_per_s", "generation (no cache)", "tok/s"),
                               ("generate_cached_tokens_per_s", "generation, KV cache, \(newTokens) new tokens from a 4-token prompt, greedy", "tok/s"),
                               ("generate_cached_bf16_tokens_per_s", "generation, KV cache, bf16 weights", "tok/s")] {
        let e = ember[key]!
        let t = torch?[key]
        // Times compare directly; for a rate (tokens/s) the time ratio is the inverse.
        let ratio = t.map { String(format: "%.2f", unit == "s" ? e / $0 : $0 / e) } ?? "n/a"
        print(pad(label, 70) + pad(String(format: "%.3f %@", e, unit), 14) + pad(t.map { String(format: "%.3f %@", $0, unit) } ?? "n/a", 14) + ratio)
    }
    print(String(format: "GEMM floor of a training step: %.1f GFLOP (3 x the forward's matmuls) at Ember's %.1f GFLOP/s (those matmuls timed alone) = %.3f s; training step / floor = %.2f",
                 floor.flops / 1e9, floor.rate / 1e9, floor.flops / floor.rate, ember["train_step_s"]! / (floor.flops / floor.rate)))
    print(String(format: "KV-cache decoding, bandwidth bound: %.1f MB of weights per token, read bandwidth %.2f GB/s (sum of %d MiB float32, best of 3) -> at most %.1f tok/s",
                 weightBytes / 1e6, bandwidth / 1e9, (quick ? 1 << 28 : 1 << 30) >> 20, tokensBound))
    let torchCached = torch?["generate_cached_tokens_per_s"]
    print(String(format: "%% of bandwidth bound: Ember %.1f%%, PyTorch %@", 100 * ember["generate_cached_tokens_per_s"]! / tokensBound,
                 torchCached.map { String(format: "%.1f%%", 100 * $0 / tokensBound) } ?? "n/a"))
    print(String(format: "KV-cache decoding with bfloat16 weights: %.2fx Ember's float32 speed",
                 ember["generate_cached_bf16_tokens_per_s"]! / ember["generate_cached_tokens_per_s"]!))
    print("cached tokens equal uncached tokens: Ember \(cachedEqualsUncached), PyTorch \(torch?["cached_equals_uncached"].map { $0 == 1 ? "true" : "false" } ?? "n/a")")
}

/// The matrix products of one GPT forward at batch × context tokens — per block the query, key,
/// value and output projections, the two feed-forward layers and the attention's `q·kᵀ` and
/// `attn·v` (all heads, full T×T as the book's model computes them), plus the output head — with
/// their FLOPs (2·m·n·k each) and Ember's rate on them, timed alone (best of `reps`). A training
/// step does these FLOPs three times (the backward's two products per forward product), so
/// `3 · flops / rate` is the step's float32 GEMM floor on this machine (issue #6).
func gemmFloor(_ cfg: GPTConfig, batch: Int, reps: Int) -> (flops: Double, rate: Double) {
    let rows = batch * cfg.contextLength, d = cfg.embDim, T = cfg.contextLength
    let heads = cfg.nHeads, hd = d / heads
    manualSeed(0)
    let x = Tensor.randn([rows, d]), h = Tensor.randn([rows, 4 * d])
    let w = Tensor.randn([d, d]), w1 = Tensor.randn([4 * d, d]), w2 = Tensor.randn([d, 4 * d])
    let head = Tensor.randn([cfg.vocabSize, d])
    let q = Tensor.randn([batch, heads, T, hd]), att = Tensor.randn([batch, heads, T, T])
    let attention = Double(2 * batch * heads * T * T * hd)
    // (count per forward, FLOPs each, the product)
    let products: [(Int, Double, () -> Void)] = [
        (4 * cfg.nLayers, Double(2 * rows * d * d), { _ = x.matmul(w.t()) }),       // W_query, W_key, W_value, out_proj
        (cfg.nLayers, Double(2 * rows * d * 4 * d), { _ = x.matmul(w1.t()) }),      // feed-forward up
        (cfg.nLayers, Double(2 * rows * 4 * d * d), { _ = h.matmul(w2.t()) }),      // feed-forward down
        (cfg.nLayers, attention, { _ = q.matmul(q.transpose(2, 3)) }),              // q·kᵀ
        (cfg.nLayers, attention, { _ = att.matmul(q) }),                            // attn·v
        (1, Double(2 * rows * d * cfg.vocabSize), { _ = x.matmul(head.t()) }),      // out_head
    ]
    var flops = 0.0, time = 0.0
    for (count, f, body) in products {
        body()
        var best = Double.infinity
        for _ in 0..<reps {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        flops += Double(count) * f
        time += Double(count) * best
    }
    return (3 * flops, flops / time)
}

/// One training step of the book's chapter 5 loop: cross-entropy over the flattened logits,
/// backward, AdamW (the step every GPT benchmark times).
func trainingStep(_ model: GPTModel, _ optimizer: Optimizer, _ x: Tensor, _ y: Tensor) {
    model.train()
    optimizer.zeroGrad()
    let loss = crossEntropy(model(x).flatten(0, 1), y.flatten())
    loss.backward()
    optimizer.step()
}

/// Memory read bandwidth in bytes/s: the best of 3 sums of a `bytes`-long float32 array, split
/// over `Threads.count` threads (8 SIMD accumulators per thread, so the loads are the limit).
func readBandwidth(bytes: Int) -> Double {
    let n = bytes / 4, threads = Threads.count
    let data = UnsafeMutablePointer<Float>.allocate(capacity: n)
    defer { data.deallocate() }
    for i in 0..<n { data[i] = Float(i & 1023) }   // touch every page before timing
    let base = Int(bitPattern: data)
    var best = Double.infinity, total: Float = 0
    for _ in 0..<3 {
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        let partialBase = Int(bitPattern: partial)
        let t0 = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let p = UnsafeRawPointer(bitPattern: base)!
            let chunk = (n / threads) & ~63
            let start = t * chunk, end = t == threads - 1 ? n : start + chunk
            var acc = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                       SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            var i = start
            while i + 64 <= end {
                let q = p + 4 * i
                acc.0 += q.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
                acc.1 += q.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                acc.2 += q.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                acc.3 += q.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                acc.4 += q.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
                acc.5 += q.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
                acc.6 += q.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self)
                acc.7 += q.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
                i += 64
            }
            var s = ((acc.0 + acc.1) + (acc.2 + acc.3) + (acc.4 + acc.5) + (acc.6 + acc.7)).sum()
            while i < end { s += p.load(fromByteOffset: 4 * i, as: Float.self); i += 1 }
            UnsafeMutablePointer<Float>(bitPattern: partialBase)![t] = s
        }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        for t in 0..<threads { total += partial[t] }
        partial.deallocate()
    }
    if total.isNaN { print("(bandwidth sum: \(total))") }   // keeps the sums from being optimised away
    return Double(n * 4) / best
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
