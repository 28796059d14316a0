import EmberCore
import EmberLLM
import EmberNN
import Foundation

// Ember's benchmarks, release build only:
//   swift run -c release ember-bench [--quick]        kernels against numpy
//   swift run -c release ember-bench gpt [--quick]    the book's GPT-124M against PyTorch
//   swift run -c release ember-bench gemm [--quick] [--bt=N]   float32 GEMM shapes of GPT-2 small/medium vs numpy
//   swift run -c release ember-bench half [--quick]   bf16/f16 weights against Ember's float32
//   swift run -c release ember-bench decode [--dtype=f32|bf16]   cached decoding alone (for profiling)
//   swift run -c release ember-bench step [--quick]               training step + eval forward alone
//   swift run -c release ember-bench instruct [--quick]  chapter 7's finetuning step, gpt2-medium shape, against PyTorch

//   [mpirun -np N] .build/release/ember-bench ddp [--quick]   ch05 training tokens/s on N ranks, hidden all-reduce share
//   swift run -c release ember-bench pretrained     peak RSS and time loading a gpt2-small-sized HF checkpoint
//   swift run -c release ember-bench io [--quick]     BPE vs tiktoken, .pth/safetensors vs torch, train-step max RSS
//     (PyTorch side: bash Benchmarks/pytorch/setup.sh once, then it runs in the same run)
// Each workload runs in Ember and in numpy (same shapes, same machine, same run) and prints
// the times and the Ember/numpy ratio. numpy's matmul uses its bundled OpenBLAS with all cores;
// its ufuncs (softmax, GELU) are single-threaded, as numpy is.

let quick = CommandLine.arguments.contains("--quick")
let repeats = quick ? 3 : 10

/// Best wall time of `body` over `repeats` runs (after one warm-up), in seconds.
func bestTime(_ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repeats {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
}

struct Row { let name: String; let ember: Double; let reference: Double?; let unit: String; let higherIsBetter: Bool }
var rows: [Row] = []

// MARK: numpy side, one subprocess for all workloads
let numpyScript = """
import json, sys, time
import numpy as np
reps = int(sys.argv[1])
def best(f):
    f(); b = 1e9
    for _ in range(reps):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b
out = {}
rng = np.random.default_rng(0)
for (m, k, n) in [(1024, 1024, 1024), (2048, 2048, 2048), (512, 768, 3072)]:
    a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    out[f"gemm {m}x{k}x{n}"] = best(lambda: np.matmul(a, b, out=c))
# GPT-124M's Linear layers as the model calls them, x @ W.T (batch 2 x 256 = 512 rows; 1 row = decode)
for (m, k, n) in [(512, 768, 768), (512, 768, 3072), (512, 3072, 768), (512, 768, 50257), (1, 768, 50257)]:
    a = rng.standard_normal((m, k), dtype=np.float32); w = rng.standard_normal((n, k), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    out[f"linear {m}x{k}x{n}"] = best(lambda: np.matmul(a, w.T, out=c))
x = rng.standard_normal((512, 50257), dtype=np.float32)
def softmax():
    e = np.exp(x - x.max(axis=-1, keepdims=True)); return e / e.sum(axis=-1, keepdims=True)
out["softmax 512x50257"] = best(softmax)
g = rng.standard_normal(1_500_000, dtype=np.float32)
def gelu():
    return 0.5 * g * (1 + np.tanh(np.float32(0.7978845608028654) * (g + np.float32(0.044715) * g * g * g)))
out["gelu 1.5M"] = best(gelu)
print(json.dumps(out))
"""

func runNumpy() -> [String: Double] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", numpyScript, String(repeats)]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.standardError
    do { try p.run() } catch { return [:] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0,
          let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Double] else {
        FileHandle.standardError.write("numpy reference unavailable (python3 with numpy needed)\n".data(using: .utf8)!)
        return [:]
    }
    return obj
}

if CommandLine.arguments.contains("io") {
    runIOBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("rss-train") {
    runRSSTrainStep()
    exit(0)
}
if let i = CommandLine.arguments.firstIndex(of: "rss-load"), i + 1 < CommandLine.arguments.count {
    runRSSLoad(CommandLine.arguments[i + 1])
    exit(0)
}
if CommandLine.arguments.contains("ddp") {
    runDataParallelBenchmark()
    exit(0)
}
if CommandLine.arguments.contains("pretrained") {
    runPretrainedBenchmark()
    exit(0)
}
if CommandLine.arguments.contains("half") {
    runHalfBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("step") {
    runStepBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("decode") {
    runDecodeBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("instruct") {
    runInstructBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("gemm") {
    runGEMMBenchmark(quick: quick)
    exit(0)
}
if CommandLine.arguments.contains("gpt") {
    runGPTBenchmark(quick: quick)
    exit(0)
}

print("Ember kernel benchmarks — GEMM: \(blasDescription), threads: \(Threads.count)")
let reference = runNumpy()

manualSeed(0)
for (m, k, n) in [(1024, 1024, 1024), (2048, 2048, 2048), (512, 768, 3072)] {
    let a = Tensor.randn([m, k]), b = Tensor.randn([k, n])
    let t = bestTime { _ = a.matmul(b) }
    let flops = 2.0 * Double(m * n * k)
    let key = "gemm \(m)x\(k)x\(n)"
    rows.append(Row(name: "matmul [\(m)x\(k)]x[\(k)x\(n)]", ember: flops / t / 1e9,
                    reference: reference[key].map { flops / $0 / 1e9 }, unit: "GFLOP/s", higherIsBetter: true))
}
for (m, k, n) in [(512, 768, 768), (512, 768, 3072), (512, 3072, 768), (512, 768, 50257), (1, 768, 50257)] {
    let a = Tensor.randn([m, k]), w = Tensor.randn([n, k])
    let t = bestTime { _ = a.matmul(w.t()) }
    let flops = 2.0 * Double(m * n * k)
    rows.append(Row(name: "x[\(m)x\(k)]·Wᵀ, W [\(n)x\(k)]", ember: flops / t / 1e9,
                    reference: reference["linear \(m)x\(k)x\(n)"].map { flops / $0 / 1e9 }, unit: "GFLOP/s", higherIsBetter: true))
}
let x = Tensor.randn([512, 50257])
rows.append(Row(name: "softmax [512, 50257]", ember: bestTime { _ = x.softmax(-1) } * 1e3,
                reference: reference["softmax 512x50257"].map { $0 * 1e3 }, unit: "ms", higherIsBetter: false))
let g = Tensor.randn([1_500_000])
rows.append(Row(name: "GELU (tanh) 1.5M", ember: bestTime { _ = g.gelu(approximate: "tanh") } * 1e3,
                reference: reference["gelu 1.5M"].map { $0 * 1e3 }, unit: "ms", higherIsBetter: false))

func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
print(pad("workload", 36) + pad("Ember", 16) + pad("numpy", 14) + "Ember vs numpy")
for r in rows {
    let e = String(format: "%.2f %@", r.ember, r.unit)
    let ref = r.reference.map { String(format: "%.2f %@", $0, r.unit) } ?? "n/a"
    var ratio = "n/a"
    if let v = r.reference {
        let speed = r.higherIsBetter ? r.ember / v : v / r.ember
        ratio = String(format: "%.2fx %@", speed, speed >= 1 ? "(Ember faster)" : "(numpy faster)")
    }
    print(pad(r.name, 36) + pad(e, 16) + pad(ref, 14) + ratio)
}
