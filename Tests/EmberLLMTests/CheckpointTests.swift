import EmberCore
import EmberIO
import EmberLLM
import Foundation
import XCTest

/// `ember train`'s checkpoint (`model_and_optimizer.pth`): the book's keys (ch. 5.4,
/// `{"model_state_dict", "optimizer_state_dict"}`) plus Ember's resume keys, written and read back
/// through EmberIO's `torch.save` format; bare state dicts and mismatched shapes (issue 5 items 4–7).
final class CheckpointTests: XCTestCase {
    /// A run of the tiny preset on the first 3,000 characters of "The Verdict": 5 steps an epoch.
    static func tinyRun(epochs: Int = 1) throws -> TrainingRun {
        var s = TrainingSettings(config: .tiny)
        s.numEpochs = epochs
        s.evalFreq = 2
        s.evalIter = 2
        return try TrainingRun(text: try tinyText(), settings: s, tokenizer: .gpt2())
    }

    static func tinyText() throws -> String { TrainCommandTests.text }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ember-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A seeded tiny model with context 16, saved in `dir` as a bare state dict, and the `ember`
    /// options that load it (`--checkpoint` and the dimensions, which the file does not hold).
    static func savedTinyModel(in dir: URL) throws -> (model: GPTModel, args: [String]) {
        manualSeed(123)
        let model = GPTModel(GPTConfig.tiny.with(contextLength: 16))
        let file = dir.appendingPathComponent("tiny.pth")
        try save(model.stateDict(), to: file)
        return (model, ["--checkpoint", file.path, "--emb-dim", "64", "--n-heads", "2", "--n-layers", "2", "--context-length", "16"])
    }

    /// Rule (book ch. 5.4 + this issue): the file holds `model_state_dict` and `optimizer_state_dict` in
    /// PyTorch's structure, then Ember's keys in a fixed order; the tensors read back bit for bit.
    func testCheckpointKeysAndRoundTrip() throws {
        let run = try Self.tinyRun()
        XCTAssertEqual(try run.runEpoch(log: { _ in }), .completed)
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try run.writeOutputs(to: dir)
        for name in [TrainingRun.checkpointFileName, TrainingRun.logFileName, TrainingRun.plotFileName] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name)
        }
        let raw = try load(dir.appendingPathComponent(TrainingRun.checkpointFileName))
        XCTAssertEqual(raw.dict?.keys.map(\.description),
                       ["model_state_dict", "optimizer_state_dict", "epoch", "global_step", "tokens_seen", "rng_state",
                        "config", "train_settings", "train_log"])
        // Model: the book's 33 keys for 2 layers (31 parameters + 2 mask buffers), values bit-exact.
        let saved = try XCTUnwrap(raw["model_state_dict"]?.tensorDict)
        let live = run.model.stateDict()
        XCTAssertEqual(saved.count, 33)
        XCTAssertEqual(Array(saved.keys), Array(live.keys))
        for (k, t) in live { XCTAssertEqual(saved[k]?.toFloats(), t.toFloats(), "model_state_dict.\(k)") }
        // Optimizer: PyTorch's {"state": {i: {step, exp_avg, exp_avg_sq}}, "param_groups": [{lr, …, params}]}.
        let opt = try XCTUnwrap(raw["optimizer_state_dict"])
        XCTAssertEqual(opt["state"]?.dict?.count, 31)
        XCTAssertEqual(opt["state"]?[0]?["step"]?.tensor?.item(), 5)          // 5 steps in the epoch
        let group = try XCTUnwrap(opt["param_groups"]?.elements?.first)
        XCTAssertEqual(group["lr"]?.double, 0.0004)
        XCTAssertEqual(group["weight_decay"]?.double, 0.1)
        XCTAssertEqual(group["params"]?.elements?.compactMap(\.int), Array(0..<31))
        // Ember's keys.
        XCTAssertEqual(raw["epoch"]?.int, 1)
        XCTAssertEqual(raw["global_step"]?.int, 4)
        XCTAssertEqual(raw["tokens_seen"]?.int, 5 * 2 * 64)
        let rng = try XCTUnwrap(raw["rng_state"]?.tensor)
        XCTAssertEqual(rng.dtype, .uint8)
        XCTAssertEqual(rng.shape, [GeneratorState.byteCount])
        XCTAssertEqual(raw["config"]?["emb_dim"]?.int, 64)
        XCTAssertEqual(raw["config"]?["qkv_bias"]?.bool, false)
        // Decoded, every field equals the run's.
        let ckpt = try TrainingCheckpoint.load(contentsOf: dir.appendingPathComponent(TrainingRun.checkpointFileName))
        XCTAssertEqual(ckpt.epoch, 1)
        XCTAssertEqual(ckpt.globalStep, 4)
        XCTAssertEqual(ckpt.config, .tiny)
        XCTAssertEqual(ckpt.settings, run.settings)
        XCTAssertEqual(ckpt.log, run.history)
        XCTAssertEqual(ckpt.rngState, Generator.default.getState())
        // training-log.json is the TrainingLog.
        let json = try Data(contentsOf: dir.appendingPathComponent(TrainingRun.logFileName))
        XCTAssertEqual(try JSONDecoder().decode(TrainingLog.self, from: json), run.history)
    }

    /// Rule: a bare `torch.save(model.state_dict())` loads with the fallback config; a full checkpoint
    /// uses its own config whatever the fallback.
    func testLoadModelFromBareStateDictAndFullCheckpoint() throws {
        let run = try Self.tinyRun()
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bare = dir.appendingPathComponent("model.pth")
        try save(run.model.stateDict(), to: bare)
        let (m1, fromFile1) = try TrainingCheckpoint.loadModel(contentsOf: bare, fallbackConfig: .tiny)
        XCTAssertFalse(fromFile1)
        XCTAssertEqual(m1.tok_emb.weight.toFloats(), run.model.tok_emb.weight.toFloats())
        XCTAssertFalse(m1.isTraining)
        try run.writeOutputs(to: dir)
        let (m2, fromFile2) = try TrainingCheckpoint.loadModel(contentsOf: dir.appendingPathComponent(TrainingRun.checkpointFileName),
                                                               fallbackConfig: .gpt2Small124M)
        XCTAssertTrue(fromFile2)
        XCTAssertEqual(m2.config, .tiny)
        XCTAssertEqual(m2.out_head.weight.toFloats(), run.model.out_head.weight.toFloats())
    }

    /// Rule (issue item 3): shapes that do not fit give PyTorch's load_state_dict report, not a crash.
    func testMismatchedCheckpointShowsLoadStateDictReport() throws {
        let run = try Self.tinyRun()
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bare = dir.appendingPathComponent("model.pth")
        try save(run.model.stateDict(), to: bare)
        XCTAssertThrowsError(try TrainingCheckpoint.loadModel(contentsOf: bare, fallbackConfig: .tiny.with(embDim: 32))) { error in
            guard case TrainingError.checkpointMismatch = error else { return XCTFail("\(error)") }
            let text = "\(error)"
            XCTAssertTrue(text.contains("does not fit the model"), text)
            XCTAssertTrue(text.contains("Error(s) in loading state_dict for GPTModel"), text)
            XCTAssertTrue(text.contains("size mismatch for tok_emb.weight: copying a param with shape torch.Size([50257, 64]) from checkpoint, the shape in current model is torch.Size([50257, 32])."), text)
        }
        XCTAssertThrowsError(try TrainingCheckpoint.loadModel(contentsOf: bare, fallbackConfig: .tiny.with(nLayers: 3))) { error in
            XCTAssertTrue("\(error)".contains("Missing key(s) in state_dict: \"trf_blocks.2.att.mask\""), "\(error)")
        }
    }

    /// Rule (issue 12 item 3): the Codable ↔ StateValue codec writes what the hand-written encoding
    /// wrote, byte for byte — the same keys in the same order, ints as ints and floats as floats —
    /// and a file of that encoding reads back into the same values.
    func testCodecWritesTheHandWrittenEncoding() throws {
        let s = TrainingSettings(config: .tiny)
        let c = s.config
        let log = TrainingLog(trainLosses: [9.75, .nan], valLosses: [9.875, 8], tokensSeen: [512, 5632], steps: [0, 5], epochs: [1, 1])
        // The encoding as Checkpoint.swift spelled it out before the codec.
        let handWritten: StateValue = .dict([
            "model_state_dict": .dict([:]), "epoch": .int(1), "global_step": .int(5), "tokens_seen": .int(5632),
            "config": .dict(["vocab_size": .int(c.vocabSize), "context_length": .int(c.contextLength), "emb_dim": .int(c.embDim),
                             "n_heads": .int(c.nHeads), "n_layers": .int(c.nLayers), "drop_rate": .double(c.dropRate),
                             "qkv_bias": .bool(c.qkvBias)]),
            "train_settings": .dict(["learning_rate": .double(s.learningRate), "weight_decay": .double(s.weightDecay),
                                     "num_epochs": .int(s.numEpochs), "batch_size": .int(s.batchSize), "seed": .int(s.seed),
                                     "eval_freq": .int(s.evalFreq), "eval_iter": .int(s.evalIter),
                                     "start_context": .string(s.startContext), "train_ratio": .double(s.trainRatio)]),
            "train_log": .dict(["train_losses": .list(log.trainLosses.map { .double($0) }),
                                "val_losses": .list(log.valLosses.map { .double($0) }),
                                "tokens_seen": .list(log.tokensSeen.map { .int($0) }), "steps": .list(log.steps.map { .int($0) }),
                                "epochs": .list(log.epochs.map { .int($0) })]),
        ])
        let codec = TrainingCheckpoint(modelState: .dict([:]), epoch: 1, globalStep: 5, tokensSeen: 5632, config: c,
                                       settings: s, log: log).stateValue
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (a, b) = (dir.appendingPathComponent("a"), dir.appendingPathComponent("b"))
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        try save(handWritten, to: a.appendingPathComponent("ckpt.pth"))
        try save(codec, to: b.appendingPathComponent("ckpt.pth"))
        // Every zip record up to the random `.data/serialization_id` (data.pkl first) is the same.
        func deterministicPart(_ dir: URL) throws -> Data {
            let bytes = try Data(contentsOf: dir.appendingPathComponent("ckpt.pth"))
            let marker = try XCTUnwrap(bytes.range(of: Data("ckpt/.data/serialization_id".utf8)))
            return bytes[..<(marker.lowerBound - 30)]                 // its 30-byte local header holds the id's CRC
        }
        let (old, new) = (try deterministicPart(a), try deterministicPart(b))
        XCTAssertNotNil(new.range(of: Data("ckpt/data.pkl".utf8)))
        XCTAssertEqual(new, old)
        // The old encoding decodes into the same values.
        let back = try TrainingCheckpoint.load(contentsOf: a.appendingPathComponent("ckpt.pth"))
        XCTAssertEqual(back.config, c)
        XCTAssertEqual(back.settings, s)
        XCTAssertEqual(back.log?.trainLosses.first, 9.75)
        XCTAssertTrue(back.log?.trainLosses.last?.isNaN ?? false)
        XCTAssertEqual(back.log?.tokensSeen, log.tokensSeen)
        // A bad field is a message naming it.
        var bad = handWritten.dict!
        bad["train_settings"] = .dict(["learning_rate": .string("fast")])
        XCTAssertThrowsError(try TrainingCheckpoint(.dict(bad), path: "x.pth")) { error in
            XCTAssertEqual(error as? TrainingError, .invalidCheckpoint(path: "x.pth", reason: "'train_settings.learning_rate' is not valid: expected a number, found a string"))
        }
        bad["train_settings"] = handWritten["train_settings"]
        bad["config"] = .dict(["vocab_size": .int(50257)])
        XCTAssertThrowsError(try TrainingCheckpoint(.dict(bad), path: "x.pth")) { error in
            XCTAssertEqual(error as? TrainingError, .invalidCheckpoint(path: "x.pth", reason: "'config' has no valid 'context_length'"))
        }
    }

    /// Rule (issue 12 item 3): loading builds the model on `meta` and assigns the file's tensors —
    /// no initialisation is drawn (the global generator is untouched), every tensor (the causal
    /// masks included) is the file's, on the CPU, and the model generates as the saved one.
    func testLoadModelDrawsNothingAndAssignsEveryTensor() throws {
        let run = try Self.tinyRun()
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bare = dir.appendingPathComponent("model.pth")
        try save(run.model.stateDict(), to: bare)
        manualSeed(7)
        let before = Generator.default.getState()
        let (model, _) = try TrainingCheckpoint.loadModel(contentsOf: bare, fallbackConfig: .tiny)
        XCTAssertEqual(Generator.default.getState(), before, "loading drew random numbers")
        let loaded = model.stateDict(), saved = run.model.stateDict()
        XCTAssertEqual(Array(loaded.keys), Array(saved.keys))
        for (k, t) in saved {
            let l = try XCTUnwrap(loaded[k], k)
            XCTAssertEqual(l.device, .cpu, k)
            XCTAssertEqual(l.dtype, t.dtype, k)
            XCTAssertEqual(l.toFloats(), t.toFloats(), k)
        }
        XCTAssertEqual(model.trf_blocks.children().count, 2)
        XCTAssertTrue(model.parameters().allSatisfy { $0.requiresGrad })
        run.model.eval()
        let prompt = Tensor([[6109, 3626, 6100, 345]])
        XCTAssertEqual(generate(model: model, idx: prompt, maxNewTokens: 8, contextSize: 64, useCache: true).toInt64s(),
                       generate(model: run.model, idx: prompt, maxNewTokens: 8, contextSize: 64).toInt64s())
    }

    /// Rule: missing, corrupt and non-Ember checkpoints are messages naming the file.
    func testBadCheckpointFiles() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.pth")
        XCTAssertThrowsError(try TrainingCheckpoint.load(contentsOf: missing)) { error in
            XCTAssertEqual(error as? TrainingError, .invalidCheckpoint(path: missing.path, reason: "no such file"))
        }
        let garbage = dir.appendingPathComponent("garbage.pth")
        try Data("not a checkpoint".utf8).write(to: garbage)
        XCTAssertThrowsError(try TrainingCheckpoint.load(contentsOf: garbage)) { error in
            guard case TrainingError.invalidCheckpoint(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, garbage.path)
        }
        // A bare state dict has weights but nothing to resume from.
        let run = try Self.tinyRun()
        let bare = dir.appendingPathComponent("model.pth")
        try save(run.model.stateDict(), to: bare)
        let ckpt = try TrainingCheckpoint.load(contentsOf: bare)
        XCTAssertNil(ckpt.epoch)
        XCTAssertThrowsError(try TrainingRun(text: try Self.tinyText(), resumingFrom: ckpt, path: bare.path, tokenizer: .gpt2())) { error in
            XCTAssertTrue("\(error)".contains("not an Ember training checkpoint"), "\(error)")
        }
    }
}
