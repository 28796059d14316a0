import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tokenizer, file formats and memory (issue #6 item 1), each against its reference in the same
/// run: GPT-2 BPE encoding vs tiktoken (one thread), the book's GPT-124M state dict saved and
/// loaded as `.pth` (vs torch.save / torch.load(weights_only=True)) and as safetensors (vs
/// safetensors.torch save_file / load_file), and the peak memory (max RSS) over three training steps (the steady state: AdamW state alive in backward).
/// Reference side: Benchmarks/pytorch/io_bench.py in the bench's virtual environment.
func runIOBenchmark(quick: Bool) {
    let reps = quick ? 1 : 3
    func best(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
        var b = Double.infinity
        for _ in 0..<n {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            b = min(b, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return b
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-bench-io-\(getpid())")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    // The text: every Markdown, Swift and text file of the repository (English and code, with the
    // book's the-verdict.txt), ~1.4 MB, plus two variants below: ~4 MB, not one text repeated
    // (which would flatter any per-piece cache).
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var source = ""
    if let files = FileManager.default.enumerator(at: repo, includingPropertiesForKeys: nil) {
        var paths: [String] = []
        for case let url as URL in files where !url.path.contains("/.") && ["md", "swift", "txt"].contains(url.pathExtension) {
            paths.append(url.path)
        }
        for p in paths.sorted() { if let s = try? String(contentsOfFile: p, encoding: .utf8) { source += s } }
    }
    // Then the same text upper-cased and with each line's words reversed: other pieces, other merges.
    let reversedLines = source.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.split(separator: " ").reversed().joined(separator: " ") }.joined(separator: "\n")
    let text = source + source.uppercased() + reversedLines
    let textURL = dir.appendingPathComponent("text.txt")
    try! text.write(to: textURL, atomically: true, encoding: .utf8)
    let tokenizer = try! GPT2Tokenizer.gpt2()
    var ids: [Int] = []
    let bpe = best(reps) { ids = tokenizer.encodeOrdinary(text) }
    let idsHash = SHA256Digest.hex(Data(ids.map(String.init).joined(separator: ",").utf8))

    // The book's GPT-124M (context 256) state dict: 163M parameters + causal-mask buffers, 651 MB.
    manualSeed(123)
    let sd = GPTModel(GPTConfig.gpt2Small124M.with(contextLength: 256)).stateDict()
    let pth = dir.appendingPathComponent("ember.pth"), st = dir.appendingPathComponent("ember.safetensors")
    var e: [String: Double] = [:]
    e["pth_save_s"] = try! best(reps) { try save(sd, to: pth) }
    e["pth_load_s"] = try! best(reps) { _ = try load(pth) }
    e["st_save_s"] = try! best(reps) { try saveSafetensors(sd, to: st) }
    e["st_load_s"] = try! best(reps) { _ = try loadSafetensors(st) }
    var big = sd
    big.removeAll()
    for i in 0..<4 { for (k, v) in sd { big["copy\(i).\(k)"] = v.clone() } }
    let st4 = dir.appendingPathComponent("ember4x.safetensors")
    try! saveSafetensors(big, to: st4)
    big.removeAll()
    e["st4_load_s"] = try! best(reps) { _ = try loadSafetensors(st4) }
    let bytes1 = (try? FileManager.default.attributesOfItem(atPath: st.path)[.size] as? Int) ?? 0
    let bytes4 = (try? FileManager.default.attributesOfItem(atPath: st4.path)[.size] as? Int) ?? 0
    for f in [pth, st, st4] { try? FileManager.default.removeItem(at: f) }

    let ref = runPython(["files", "--text", textURL.path, "--dir", dir.path] + (quick ? ["--quick"] : []))
    let emberRSS = runSelf(["rss-train"])
    let torchRSS = runPython(["rss", "--threads", String(Threads.count)])

    func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
    print("Tokenizer, files, memory — threads: \(Threads.count) (tokenizer: 1 thread both sides)")
    print(pad("workload", 46) + pad("Ember", 14) + pad("reference", 14) + "Ember vs reference")
    func row(_ label: String, _ ember: Double, _ reference: Double?, _ unit: String, lowerIsBetter: Bool = true, scale: Double = 1) {
        let r = reference.map { lowerIsBetter ? $0 / ember : ember / $0 }
        let ratio = r.map { String(format: "%.2fx %@", $0, $0 >= 1 ? "(Ember better)" : "(reference better)") } ?? "n/a"
        print(pad(label, 46) + pad(String(format: "%.3f %@", ember * scale, unit), 14)
              + pad(reference.map { String(format: "%.3f %@", $0 * scale, unit) } ?? "n/a", 14) + ratio)
    }
    let mb = Double(text.utf8.count) / 1e6
    row(String(format: "BPE encode %.1f MB (vs tiktoken), MB/s", mb), mb / bpe, ref?["bpe_s"].map { mb / $0 }, "MB/s", lowerIsBetter: false)
    let same = ref.map { ($0["bpe_tokens"] as Double?) == Double(ids.count) } ?? false
    print(pad("  tokens", 46) + pad("\(ids.count)", 14) + pad(ref?["bpe_tokens"].map { String(Int($0)) } ?? "n/a", 14)
          + (ref == nil ? "" : (same && refHash == idsHash ? "identical ids (SHA-256 of the id list)" : "IDS DIFFER")))
    let mib1 = Double(bytes1) / 1_048_576, mib4 = Double(bytes4) / 1_048_576
    // Ember's saves are atomic and durable (temporary file, fsync, rename): the reference is timed
    // with an fsync after its save too, and also shown without.
    row(String(format: ".pth save, GPT-124M state dict (%.0f MiB)", mib1), e["pth_save_s"]!, ref?["pth_save_fsync_s"], "s")
    print(pad("  (torch.save without fsync)", 46) + pad("", 14) + (ref?["pth_save_s"].map { String(format: "%.3f s", $0) } ?? "n/a"))
    row(".pth load (torch.load weights_only=True)", e["pth_load_s"]!, ref?["pth_load_s"], "s")
    row("safetensors save (save_file + fsync)", e["st_save_s"]!, ref?["st_save_fsync_s"], "s")
    print(pad("  (save_file without fsync)", 46) + pad("", 14) + (ref?["st_save_s"].map { String(format: "%.3f s", $0) } ?? "n/a"))
    row(String(format: "safetensors load, %.0f MiB (mmap)", mib1), e["st_load_s"]!, ref?["st_load_s"], "ms", scale: 1e3)
    row(String(format: "safetensors load, %.0f MiB (4x, mmap)", mib4), e["st4_load_s"]!, ref?["st4_load_s"], "ms", scale: 1e3)
    if let er = emberRSS {
        row("train step 1: peak RSS (VmHWM)", er["first_step_peak_mib"]!, torchRSS?["first_step_peak_mib"], "MiB")
        row("train steps 1-3: peak RSS (VmHWM)", er["peak_mib"]!, torchRSS?["peak_mib"], "MiB")
        row("  growth during the steps (peak - before)", er["peak_mib"]! - er["before_step_mib"]!,
            torchRSS.map { $0["peak_mib"]! - $0["before_step_mib"]! }, "MiB")
        row("  process at start (runtime, libraries)", er["start_mib"]!, torchRSS?["start_mib"], "MiB")
    }
}

/// The reference's `bpe_sha256`, kept as a string (the JSON reader below keeps numbers only).
nonisolated(unsafe) var refHash = ""

/// Runs io_bench.py in the PyTorch virtual environment; nil when it is missing or fails.
func runPython(_ args: [String]) -> [String: Double]? {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let python = here.appendingPathComponent("pytorch/.venv/bin/python").path
    guard FileManager.default.fileExists(atPath: python) else {
        print("(reference side skipped: run `bash Benchmarks/pytorch/setup.sh` first)")
        return nil
    }
    guard let obj = runJSON(python, [here.appendingPathComponent("pytorch/io_bench.py").path] + args) else { return nil }
    if let h = obj["bpe_sha256"] as? String { refHash = h }
    return obj.compactMapValues { ($0 as? NSNumber)?.doubleValue }
}

/// Runs this executable again in another mode (a fresh process, so its max RSS is its own).
func runSelf(_ args: [String]) -> [String: Double]? {
    runJSON(CommandLine.arguments[0], args)?.compactMapValues { ($0 as? NSNumber)?.doubleValue }
}

func runJSON(_ executable: String, _ args: [String]) -> [String: Any]? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}

/// `ember-bench rss-train`: the child process of the memory row. The peak resident set is VmHWM
/// of /proc/self/status (getrusage's ru_maxrss would not do: Linux carries it over from the parent
/// across fork + exec), read at start, after building the model and AdamW, and after one training
/// step (batch 2 × 256, as the gpt mode); printed as one JSON line in MiB.
func runRSSTrainStep() {
    func mib() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? .nan
    }
    let start = mib()
    manualSeed(123)
    let model = GPTModel(GPTConfig.gpt2Small124M.with(contextLength: 256))
    let optimizer = AdamW(model.parameters(), lr: 0.0004, weightDecay: 0.1)
    let x = Tensor.randint(0, 50257, [2, 256]), y = Tensor.randint(0, 50257, [2, 256])
    let before = mib()
    // Three steps: from the second on, AdamW's state is alive during backward (the steady state).
    model.train()
    var first = 0.0
    for i in 0..<3 {
        optimizer.zeroGrad()
        let loss = crossEntropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        if i == 0 { first = mib() }
    }
    print("{\"start_mib\": \(start), \"before_step_mib\": \(before), \"first_step_peak_mib\": \(first), \"peak_mib\": \(mib())}")
}
