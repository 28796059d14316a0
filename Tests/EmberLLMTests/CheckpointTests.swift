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
