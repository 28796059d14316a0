import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import Foundation
import OrderedCollections

/// `ember-bench pretrained`: loading a gpt2-small-sized Hugging Face directory (the Hub's
/// `openai-community/gpt2` layout: 548 MB of float32 `model.safetensors` with Conv1D weights and the
/// `h.i.attn.bias` buffers; random values, since the real file cannot be downloaded here) into the
/// book's GPTModel. A child process loads it and reports its peak resident set (VmHWM) after the
/// load and after one forward pass, against the file's size (target: ≤ 1.2× after the load).
func runPretrainedBenchmark() {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-bench-gpt2-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let cfg = GPTConfig.gpt2(.small)
    do {
        // Written from a book model through the export's inverse table, plus the Hub file's mask buffers.
        manualSeed(0)
        let model = GPTModel(cfg)
        model.out_head.weight = model.tok_emb.weight      // tied, as OpenAI's GPT-2: no lm_head in the file
        try model.saveHuggingFace(to: dir)
        var tensors = try loadSafetensors(dir.appendingPathComponent("model.safetensors"), mapped: false).tensors
        let mask = Tensor.ones([cfg.contextLength, cfg.contextLength]).tril().view(1, 1, cfg.contextLength, cfg.contextLength)
        var hub = OrderedDictionary<String, Tensor>()
        for (k, v) in tensors { hub[String(k.dropFirst("transformer.".count))] = v }
        for i in 0..<cfg.nLayers { hub["h.\(i).attn.bias"] = mask.clone() }
        tensors.removeAll()
        try saveSafetensors(hub, metadata: ["format": "pt"], to: dir.appendingPathComponent("model.safetensors"))
    } catch {
        print("could not write the benchmark checkpoint: \(error)")
        return
    }
    let fileMiB = Double((try? FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0) / 1_048_576
    guard let r = runSelf(["rss-load", dir.path]) else { print("the child process failed"); return }
    print("Loading gpt2-small (Hugging Face layout, \(String(format: "%.0f", fileMiB)) MiB model.safetensors) into GPTModel")
    print(String(format: "  load time                      %.3f s", r["load_s"]!))
    print(String(format: "  peak RSS after loading         %.0f MiB = %.2fx the file (process at start %.0f MiB)", r["loaded_mib"]!, r["loaded_mib"]! / fileMiB, r["start_mib"]!))
    print(String(format: "    resident then: %.0f MiB own memory (transposed copies, masks), %.0f MiB of the mapped file", r["anon_mib"]!, r["file_mib"]!))
    print(String(format: "  peak RSS after one forward     %.0f MiB = %.2fx the file", r["forward_mib"]!, r["forward_mib"]! / fileMiB))
}

/// `ember-bench rss-load DIR`: the child of ``runPretrainedBenchmark()``; one JSON line in MiB and seconds.
func runRSSLoad(_ path: String) {
    func mib(_ field: String = "VmHWM:") -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? .nan
    }
    let start = mib()
    let t0 = DispatchTime.now().uptimeNanoseconds
    let model = try! GPTModel.fromPretrained(URL(fileURLWithPath: path))
    let loadS = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    let loaded = mib()
    let (anon, file) = (mib("RssAnon:"), mib("RssFile:"))
    _ = noGrad { model(Tensor.randint(0, 50257, [1, 16])) }
    print("{\"start_mib\": \(start), \"load_s\": \(loadS), \"loaded_mib\": \(loaded), \"anon_mib\": \(anon), \"file_mib\": \(file), \"forward_mib\": \(mib())}")
}
