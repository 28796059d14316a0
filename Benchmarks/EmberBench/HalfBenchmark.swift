import EmberCore
import EmberLLM
import EmberNN
import Foundation

/// 16-bit weights for generation (issue #6 item 4): the weight-streaming product alone, at the
/// decode shape of GPT-2's output head, then GPT-124M itself in float32, bfloat16 and float16 —
/// one-token forwards (the memory-bound step a KV-cached decoder repeats), generation without a
/// cache (the book's loop), and the largest logit difference against float32.
/// The reference is Ember's own float32 path (OpenBLAS), measured in the same run.
func runHalfBenchmark(quick: Bool) {
    let reps = quick ? 5 : 20
    func best(_ n: Int, _ body: () -> Void) -> Double {
        body()
        var b = Double.infinity
        for _ in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            b = min(b, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return b
    }
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print("16-bit weights, float32 arithmetic — threads: \(Threads.count), float32 GEMM: \(blasDescription)")

    // 1. The product alone: x [1, 768] · Wᵀ, W [50257, 768] (GPT-2's out_head at decode).
    manualSeed(0)
    let (k, n) = (768, 50257)
    let w32 = Tensor.randn([n, k]) * 0.02, x32 = Tensor.randn([1, k])
    print(pad("x[1,768] · Wᵀ, W [50257, 768]", 34) + pad("time", 12) + pad("weights GB/s", 15) + "speed vs float32")
    var base = 0.0
    for dt in [DType.float32, .bfloat16, .float16] {
        let w = w32.to(dt), x = x32.to(dt)
        let t = best(reps) { _ = x.matmul(w.t()) }
        if dt == .float32 { base = t }
        let gbs = Double(n * k * dt.itemSize) / t / 1e9
        print(pad("  W in \(dt)", 34) + pad(String(format: "%.3f ms", t * 1e3), 12) + pad(String(format: "%.1f", gbs), 15)
              + String(format: "%.2fx", base / t))
    }

    // 2. GPT-124M (context 256): one-token forward, generation without a cache, logit difference.
    let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)
    func freshModel() -> GPTModel { manualSeed(123); return GPTModel(cfg) }
    let prompt = Tensor([[6109, 3626, 6100, 345]])                  // "Every effort moves you"
    let compareIdx = Tensor.randint(0, cfg.vocabSize, [1, 64])
    let newTokens = quick ? 10 : 30
    func measure(_ model: GPTModel) -> (forward: Double, generate: Double, tokens: [Int64]) {
        let one = Tensor([[6109]])
        let fwd = best(quick ? 3 : 10) { _ = noGrad { model(one) } }
        var out = prompt
        let gen = best(1) { out = generateTextSimple(model: model, idx: prompt, maxNewTokens: newTokens, contextSize: 256) }
        return (1 / fwd, Double(newTokens) / gen, out.flatten().toInt64s())
    }
    let f32 = measure(freshModel().eval())
    print(pad("GPT-124M (162M weights)", 34) + pad("1-token fwd", 16) + pad("generate", 16) + pad("speed-up fwd/gen", 20) + "max |Δlogit| vs f32, greedy tokens equal")
    print(pad("  float32", 34) + pad(String(format: "%.1f tok/s", f32.forward), 16) + pad(String(format: "%.2f tok/s", f32.generate), 16) + "1.00x / 1.00x")
    for dt in [DType.bfloat16, .float16] {
        let model = freshModel()                     // the same float32 weights, cast once
        let diff = model.castForInference(to: dt, comparingLogitsOn: compareIdx) ?? .nan
        let r = measure(model)
        let same = zip(r.tokens, f32.tokens).prefix { $0 == $1 }.count - prompt.shape[1]
        print(pad("  \(dt)", 34) + pad(String(format: "%.1f tok/s", r.forward), 16) + pad(String(format: "%.2f tok/s", r.generate), 16)
              + pad(String(format: "%.2fx / %.2fx", r.forward / f32.forward, r.generate / f32.generate), 20)
              + String(format: "%.4f, first %d of %d", diff, same, newTokens))
    }
}
