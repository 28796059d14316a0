import EmberCore
import Foundation

// `ember-bench gemm [--quick] [--bt=N] [--rounds=N]`: float32 matrix products against numpy's
// OpenBLAS in the same run, as GFLOP/s and their ratio. Shapes: 1024³, 2048³ and every Linear
// layer of GPT-2 small (d 768) and medium (d 1024) at B·T rows (default 1024), as the model calls
// them: forward y = x·Wᵀ, and the two backward products dX = dY·W and dW = dYᵀ·X.
//
// The numpy side runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment
// (that command alone), so OpenBLAS picks its kernel for the CPU it finds: the development
// machines' environment sets OPENBLAS_CORETYPE=Haswell, which holds OpenBLAS to its AVX2 kernel
// even where the CPU has AVX-512.
// Rounds alternate numpy and Ember (default 2 each) and each side keeps its best time per shape:
// on a machine shared with other work, the best of several runs is what the hardware can do.

private struct GEMMShape {
    let name: String
    let m: Int, n: Int, k: Int
    /// How the operands are stored: A as m×k (false) or k×m (true), B as k×n (false) or n×k (true).
    let transA: Bool, transB: Bool
    var key: String { "\(m)x\(n)x\(k)x\(transA ? 1 : 0)\(transB ? 1 : 0)" }
    var flops: Double { 2.0 * Double(m) * Double(n) * Double(k) }
}

private func gemmShapes(bt: Int) -> [GEMMShape] {
    var shapes = [GEMMShape(name: "square 1024", m: 1024, n: 1024, k: 1024, transA: false, transB: false),
                  GEMMShape(name: "square 2048", m: 2048, n: 2048, k: 2048, transA: false, transB: false)]
    for (model, d) in [("small", 768), ("medium", 1024)] {
        for (layer, inF, outF) in [("qkv", d, 3 * d), ("attn proj", d, d), ("fc", d, 4 * d), ("fc proj", 4 * d, d),
                                   ("head", d, 50257)] {
            shapes.append(GEMMShape(name: "\(model) \(layer) fwd x·Wᵀ", m: bt, n: outF, k: inF, transA: false, transB: true))
            shapes.append(GEMMShape(name: "\(model) \(layer) dX=dY·W", m: bt, n: inF, k: outF, transA: false, transB: false))
            shapes.append(GEMMShape(name: "\(model) \(layer) dW=dYᵀ·X", m: outF, n: inF, k: bt, transA: true, transB: false))
        }
    }
    return shapes
}

private let gemmNumpyScript = """
import json, sys, time
import numpy as np
reps = int(sys.argv[1]); shapes = json.loads(sys.argv[2])
rng = np.random.default_rng(0)
out = {}
try:
    from threadpoolctl import threadpool_info
    out["_openblas"] = ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}" for i in threadpool_info())
except Exception:
    out["_openblas"] = "threadpoolctl not installed"
for key, m, n, k, ta, tb in shapes:
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    a2 = a.T if ta else a; b2 = b.T if tb else b
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(a2, b2, out=c); best = 1e9
    for _ in range(reps):
        t = time.perf_counter(); np.matmul(a2, b2, out=c); best = min(best, time.perf_counter() - t)
    out[key] = best
print(json.dumps(out))
"""

private func runGEMMNumpy(_ shapes: [GEMMShape], repeats: Int) -> [String: Any] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let list = shapes.map { "[\"\($0.key)\", \($0.m), \($0.n), \($0.k), \($0.transA ? 1 : 0), \($0.transB ? 1 : 0)]" }
    p.arguments = ["-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", "python3", "-c", gemmNumpyScript,
                   String(repeats), "[" + list.joined(separator: ",") + "]"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.standardError
    do { try p.run() } catch { return [:] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        FileHandle.standardError.write(Data("numpy reference unavailable (python3 with numpy needed)\n".utf8))
        return [:]
    }
    return obj
}

func runGEMMBenchmark(quick: Bool) {
    func option(_ name: String, _ fallback: Int) -> Int {
        CommandLine.arguments.first { $0.hasPrefix("--\(name)=") }.flatMap { Int($0.dropFirst(name.count + 3)) } ?? fallback
    }
    let bt = option("bt", 1024), rounds = option("rounds", quick ? 1 : 2)
    let repeats = quick ? 2 : 3
    var shapes = gemmShapes(bt: bt)
    if quick { shapes = shapes.filter { !$0.name.hasPrefix("medium") } }
    print("float32 GEMM — Ember: \(blasDescription), threads: \(Threads.count); B·T = \(bt); best of \(rounds) rounds × \(repeats) runs")
    var emberBest = [String: Double](), numpyBest = [String: Double]()
    var numpyInfo = "n/a"
    manualSeed(0)
    for round in 0..<rounds {
        let ref = runGEMMNumpy(shapes, repeats: repeats)
        if let s = ref["_openblas"] as? String { numpyInfo = s }
        for s in shapes { if let t = ref[s.key] as? Double { numpyBest[s.key] = min(numpyBest[s.key] ?? .infinity, t) } }
        for s in shapes {
            let a = Tensor.randn(s.transA ? [s.k, s.m] : [s.m, s.k]), b = Tensor.randn(s.transB ? [s.n, s.k] : [s.k, s.n])
            let a2 = s.transA ? a.t() : a, b2 = s.transB ? b.t() : b
            _ = a2.matmul(b2)
            var best = Double.infinity
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = a2.matmul(b2)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            emberBest[s.key] = min(emberBest[s.key] ?? .infinity, best)
        }
        FileHandle.standardError.write(Data("round \(round + 1)/\(rounds) done\n".utf8))
    }
    print("numpy: \(numpyInfo) (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset for it)")
    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print(pad("shape", 30) + pad("M×N×K", 20) + pad("Ember GFLOP/s", 15) + pad("numpy GFLOP/s", 15) + "Ember / numpy")
    var ratios: [Double] = []
    for s in shapes {
        let e = s.flops / emberBest[s.key]! / 1e9
        let n = numpyBest[s.key].map { s.flops / $0 / 1e9 }
        let ratio = n.map { e / $0 }
        if let r = ratio { ratios.append(r) }
        print(pad(s.name, 30) + pad("\(s.m)×\(s.n)×\(s.k)", 20) + pad(String(format: "%.1f", e), 15)
              + pad(n.map { String(format: "%.1f", $0) } ?? "n/a", 15) + (ratio.map { String(format: "%.2f", $0) } ?? "n/a"))
    }
    if let lo = ratios.min() {
        let geo = exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count))
        print(String(format: "Ember / numpy: lowest %.2f, geometric mean %.2f over %d shapes", lo, geo, ratios.count))
    }
}
