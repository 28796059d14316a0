import EmberCore
import EmberLLM
import EmberNN
import Foundation

/// Chapter 7's instruction finetuning step on a gpt2-medium-shaped model (the book's
/// `gpt_instruction_finetuning.py`: context 1024, qkv bias, dropout 0, AdamW lr 5e-5 / wd 0.1, batch 8
/// of the bundled instruction data collated with `allowed_max_length` 1024, `torch.manual_seed(123)`
/// order): seconds per step in Ember and, in the same run on the same batches, in PyTorch eager with
/// the same thread count (Benchmarks/pytorch/instruct_bench.py; its Python is `$EMBER_TORCH_PYTHON`
/// or Benchmarks/pytorch/.venv). The weights are random (the time does not depend on them); the first
/// step is a warm-up and is not counted. `--quick`: 2 timed steps instead of 4.
func runInstructBenchmark(quick: Bool) {
    let timed = quick ? 2 : 4
    var config = GPTConfig.gpt2Medium355M.with(dropRate: 0.0)   // the book's BASE_CONFIG: drop_rate 0.0, qkv_bias True
    config.qkvBias = true
    let tokenizer = try! GPT2Tokenizer.gpt2()
    let (train, validation, _) = InstructionData.split(try! InstructionData.bundled())
    manualSeed(123)
    let loaders = try! InstructionLoaders(train: train, validation: validation, tokenizer: tokenizer, batchSize: 8, allowedMaxLength: 1024)
    let batches = Array(loaders.train.prefix(timed + 1))
    print("Instruction finetuning step, gpt2-medium shape (355M, context 1024), batch 8 — threads: \(Threads.count), GEMM: \(blasDescription)")
    print("batch shapes: \(batches.map { "\($0.inputs.shape)" }.joined(separator: " "))")

    // PyTorch first, before Ember's model and optimizer take their ~6 GB.
    let torch = runPyTorchInstruct(config: config, batches: batches)
    var ember: [Double] = [], emberLosses: [Double] = []
    do {
        manualSeed(123)
        let model = GPTModel(config)
        let optimizer = AdamW(model.parameters(), lr: 0.00005, weightDecay: 0.1)
        model.train()
        for (x, y) in batches {
            let t0 = DispatchTime.now().uptimeNanoseconds
            optimizer.zeroGrad()
            let loss = calcLossBatch(x, y, model: model)
            loss.backward()
            optimizer.step()
            ember.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            emberLosses.append(loss.item())
        }
    }
    func mean(_ a: [Double]) -> Double { a.dropFirst().reduce(0, +) / Double(max(1, a.count - 1)) }
    for (i, (x, _)) in batches.enumerated() {
        let t = torch.map { String(format: "%8.2f s", $0.seconds[i]) } ?? "       —"
        print(String(format: "step %d %@: Ember %8.2f s, PyTorch %@%@", i, "\(x.shape)", ember[i], t, i == 0 ? "  (warm-up)" : ""))
    }
    if let torch {
        let ratio = mean(ember) / mean(torch.seconds)
        print(String(format: "mean of the timed steps: Ember %.2f s, PyTorch %.2f s — Ember/PyTorch %.2f×", mean(ember), mean(torch.seconds), ratio))
        print("initial losses (random weights, should agree to ~1e-3): Ember \(emberLosses.first ?? .nan), PyTorch \(torch.losses.first ?? .nan)")
    } else {
        print(String(format: "mean of the timed steps: Ember %.2f s", mean(ember)))
    }
}

/// Runs Benchmarks/pytorch/instruct_bench.py on `batches`; nil when no Python with torch is found.
func runPyTorchInstruct(config: GPTConfig, batches: [(inputs: Tensor, targets: Tensor)]) -> (seconds: [Double], losses: [Double])? {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let python = ProcessInfo.processInfo.environment["EMBER_TORCH_PYTHON"] ?? here.appendingPathComponent("pytorch/.venv/bin/python").path
    guard FileManager.default.fileExists(atPath: python) else {
        print("(PyTorch side skipped: set EMBER_TORCH_PYTHON or run `bash Benchmarks/pytorch/setup.sh` first)")
        return nil
    }
    let spec: [String: Any] = [
        "config": ["vocab_size": config.vocabSize, "context_length": config.contextLength, "emb_dim": config.embDim,
                   "n_heads": config.nHeads, "n_layers": config.nLayers, "drop_rate": config.dropRate, "qkv_bias": config.qkvBias],
        "batches": batches.map { ["inputs": $0.inputs.toInt64s().map(Int.init), "targets": $0.targets.toInt64s().map(Int.init), "shape": $0.inputs.shape] },
    ]
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ember-instruct-bench-\(UUID().uuidString).json")
    defer { try? FileManager.default.removeItem(at: file) }
    guard let data = try? JSONSerialization.data(withJSONObject: spec), (try? data.write(to: file)) != nil else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [here.appendingPathComponent("pytorch/instruct_bench.py").path, file.path, "--threads", String(Threads.count)]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { return nil }
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let line = String(decoding: out, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: [Double]],
          let seconds = obj["step_seconds"], seconds.count == batches.count else { return nil }
    return (seconds, obj["losses"] ?? [])
}
