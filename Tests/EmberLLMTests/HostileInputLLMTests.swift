import EmberCore
import EmberIO
import EmberLLM
import EmberTestSupport
import Foundation
import XCTest

/// Issue 13 items 3, 4, 5 and 7 at the LLM level: configurations that lie, NaN logits and top-k,
/// files that are not files, output directories that cannot be written, and `--resume` checks — each
/// one clear error (one line, naming the key), a non-zero exit for the CLI, and no new file.
final class HostileInputLLMTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try CheckpointTests.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// Files in `dir` (to check that a refused command wrote nothing).
    func listing() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted() ?? [] }

    // MARK: - 1, 2. Every hostile file through every command

    /// The deep and lying files of ``HostileFiles`` (zip and legacy) through `inspect`, `inspect --json`,
    /// `generate --checkpoint` and `train --resume`: one `Error:` line each, non-zero, nothing written.
    func testHostileFilesThroughEveryCommand() throws {
        let stride0 = HostileFiles.tensorDictPickle(numel: 4, shape: [1 << 40], strides: [0])
        let four = HostileFiles.floats([1, 2, 3, 4])
        var files: [(String, [UInt8])] = []
        for (name, pickle, storages) in [("deep_size", HostileFiles.deepSizePickle(depth: 100_000), [[UInt8]]()),
                                         ("deep_key", HostileFiles.deepKeyPickle(depth: 100_000), []),
                                         ("build_chain", HostileFiles.buildChainPickle(depth: 100_000), []),
                                         ("stride0", stride0, [four])] {
            files.append((name + ".zip.pth", HostileFiles.zipPth(pickle: pickle, records: storages.enumerated().map {
                .init("archive/data/\($0.offset)", $0.element) })))
            files.append((name + ".legacy.pth", HostileFiles.legacyPth(object: pickle, storages: storages.enumerated().map {
                (String($0.offset), Int64($0.element.count / 4), $0.element) })))
        }
        files.append(("bomb.pth", HostileFiles.zipPth(pickle: HostileFiles.tensorDictPickle(numel: 1 << 38, shape: [4], strides: [1]),
            records: [.init("archive/data/0", four, deflated: true, declaredSize: 1 << 40, zip64: true)])))
        for (name, bytes) in files { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
        let before = listing()
        for (name, _) in files {
            let path = dir.appendingPathComponent(name).path
            for args in [["inspect", path], ["inspect", "--json", path], ["generate", "--checkpoint", path, "--prompt", "Hi"],
                         ["train", "--resume", path, "--output", dir.appendingPathComponent("out").path]] {
                let run = try TrainCommandTests.runEmber(args)
                XCTAssertNotEqual(run.status, 0, "\(args)")
                XCTAssertTrue(run.status > 0 && run.status < 128, "\(args): killed by a signal (\(run.status))")
                XCTAssertTrue(run.err.hasPrefix("Error: "), "\(args): \(run.err)")
                XCTAssertEqual(run.err.filter { $0 == "\n" }.count, 1, "\(args): \(run.err)")
                XCTAssertTrue(run.err.contains("nesting deeper than 256") || run.err.contains("memory budget"), "\(args): \(run.err)")
            }
        }
        XCTAssertEqual(listing(), before)
    }

    // MARK: - 3. Configurations that lie

    func testConfigSizesAreBoundedBeforeAnythingIsBuilt() throws {
        let c = GPTConfig.gpt2Small124M
        XCTAssertNil(c.sizeProblem())
        // The book's 163,009,536 parameters (ch. 4.6) + 12 causal masks of 1024².
        XCTAssertEqual(c.modelElementCount, 163_009_536 + 12 * 1024 * 1024)
        XCTAssertEqual(c.with(contextLength: 1 << 32).sizeProblem(), "context_length = 4294967296 is outside 1...131072")
        XCTAssertEqual(c.with(vocabSize: 1 << 40).sizeProblem(), "vocab_size = 1099511627776 is outside 1...4194304")
        XCTAssertEqual(c.with(nLayers: 0).sizeProblem(), "n_layers = 0 is outside 1...1024")
        // Each size in range, the product not: 2^22 × 2^15 × 2 embeddings = 2^38 values.
        let big = c.with(vocabSize: 1 << 22, embDim: 1 << 15, nHeads: 1 << 5)
        XCTAssertTrue(big.sizeProblem()?.contains("more than the limit of 4294967296") == true, big.sizeProblem() ?? "")
        XCTAssertNil(GPTConfig(vocabSize: Int.max, contextLength: Int.max, embDim: Int.max, nHeads: 1, nLayers: Int.max,
                               dropRate: 0, qkvBias: true).modelElementCount)
        XCTAssertThrowsError(try big.validateForTraining())
    }

    func testHFConfigWhoseSizesMultiplyToTerabytesIsRefused() throws {
        let url = dir.appendingPathComponent("config.json")
        try Data(#"{"model_type": "gpt2", "vocab_size": 4194304, "n_embd": 32768, "n_head": 32}"#.utf8).write(to: url)
        let config = try HFGPT2Config.load(contentsOf: url)
        XCTAssertThrowsError(try config.gptConfig(path: url.path)) { error in
            XCTAssertTrue("\(error)".contains("float32 values"), "\(error)")
        }
    }

    func testCheckpointWhoseConfigLiesIsRefusedNamingTheKey() throws {
        manualSeed(123)
        let model = GPTModel(GPTConfig.tiny.with(contextLength: 16))
        let url = dir.appendingPathComponent("lying.pth")
        try TrainingCheckpoint(modelState: .stateDict(model.stateDict()), config: model.config.with(contextLength: 1 << 32)).save(to: url)
        XCTAssertThrowsError(try TrainingCheckpoint.loadModel(contentsOf: url, fallbackConfig: .tiny)) { error in
            XCTAssertEqual("\(error)", "checkpoint '\(url.path)': 'config': context_length = 4294967296 is outside 1...131072")
        }
        // A sane config that disagrees with the weights: refused before a model is built.
        let three = dir.appendingPathComponent("three.pth")
        try TrainingCheckpoint(modelState: .stateDict(model.stateDict()), config: model.config.with(nLayers: 3)).save(to: three)
        XCTAssertThrowsError(try TrainingCheckpoint.loadModel(contentsOf: three, fallbackConfig: .tiny)) { error in
            XCTAssertTrue("\(error)".contains("the weights have 2 trf_blocks, but the config says n_layers = 3"), "\(error)")
        }
        let run = try TrainCommandTests.runEmber(["generate", "--checkpoint", url.path, "--prompt", "Hi", "--max-new-tokens", "1"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.err, "Error: checkpoint '\(url.path)': 'config': context_length = 4294967296 is outside 1...131072\n")
    }

    func testCommandLineSizesAreRefusedBeforeAllocating() throws {
        let out = dir.appendingPathComponent("out")
        for (flag, value, text) in [("--vocab-size", "1099511627776", "vocab_size = 1099511627776 is outside"),
                                    ("--context-length", "4294967296", "context_length = 4294967296 is outside"),
                                    ("--emb-dim", "1572864", "emb_dim = 1572864 is outside"),
                                    ("--n-layers", "100000", "n_layers = 100000 is outside")] {
            let run = try TrainCommandTests.runEmber(["train", flag, value, "--output", out.path])
            XCTAssertNotEqual(run.status, 0, flag)
            XCTAssertTrue(run.err.contains(text), run.err)
            XCTAssertEqual(run.err.split(separator: "\n").count, 1, run.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(flag): nothing may be created")
        }
    }

    // MARK: - 4. NaN logits, top-k

    func testNaNWeightsMakeSamplingThrowPyTorchsError() throws {
        manualSeed(123)
        let model = GPTModel(GPTConfig.tiny.with(contextLength: 16))
        noGrad { _ = model.out_head.weight.fill_(Double.nan) }
        XCTAssertThrowsError(try samplePrompt(model: model, tokenizer: .gpt2(), prompt: "Every effort", maxNewTokens: 3,
                                              temperature: 1, topK: 50257, seed: 1)) { error in
            XCTAssertTrue(error is EmberError, "\(error)")
            XCTAssertTrue("\(error)".contains("probability tensor contains either `inf`, `nan` or element < 0"), "\(error)")
        }
        // Greedy decoding has no distribution to check: argmax of NaN logits is a token, as in PyTorch.
        XCTAssertNoThrow(try samplePrompt(model: model, tokenizer: .gpt2(), prompt: "Every effort", maxNewTokens: 2,
                                          temperature: 0, topK: nil, seed: 1))
    }

    func testTopKClampsAndKeepsTorchTopkOrder() throws {
        let logits = Tensor(array: [Float(1), 5, 3, .nan, 2, 2, 1, 0], shape: [2, 4])
        let two = topKFiltered(logits, k: 2).toFloats()
        // Row 0: torch.topk ranks NaN first, then 5: the threshold is 5. Row 1: ties with the 2nd value stay.
        XCTAssertEqual(two[0], -.infinity); XCTAssertEqual(two[1], 5); XCTAssertEqual(two[2], -.infinity); XCTAssertTrue(two[3].isNaN)
        XCTAssertEqual(Array(two[4...]), [2, 2, -.infinity, -.infinity])
        XCTAssertEqual(topKFiltered(logits, k: 1).toFloats()[4...], [2, 2, -.infinity, -.infinity])
        // k ≥ vocab (the CLI's --top-k 50257 on GPT-2) keeps everything.
        let wide = Tensor(array: (0..<50257).map { Float($0 % 97) }, shape: [1, 50257])
        XCTAssertEqual(topKFiltered(wide, k: 50257).toFloats(), wide.toFloats())
        XCTAssertEqual(topKFiltered(wide, k: 1 << 40).toFloats(), wide.toFloats())
        // 519 zeros and 519 ones (50257 = 518 × 97 + 11): the 49,737th largest is 1, so only the zeros go.
        let top = topKFiltered(wide, k: 49_737).toFloats()
        XCTAssertEqual(top.filter { $0 == -.infinity }.count, 519)
        XCTAssertEqual(wide.topk(3).values.toFloats(), [96, 96, 96])
    }

    // MARK: - 5. Files that aren't files; outputs that can't be written

    func testFIFOsAndDirectoriesAreRefusedWithoutBlocking() throws {
        let fifo = dir.appendingPathComponent("ckpt.pth")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        XCTAssertThrowsError(try TrainingCheckpoint.load(contentsOf: fifo)) { error in
            XCTAssertTrue("\(error)".contains("is a named pipe (FIFO), not a regular file"), "\(error)")
        }
        XCTAssertThrowsError(try HFGPT2Config.load(contentsOf: fifo)) { XCTAssertTrue("\($0)".contains("named pipe"), "\($0)") }
        XCTAssertThrowsError(try TrainingText.load(contentsOf: fifo)) { XCTAssertTrue("\($0)".contains("named pipe"), "\($0)") }
        XCTAssertThrowsError(try TrainingCheckpoint.load(contentsOf: dir)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
        let run = try TrainCommandTests.runEmber(["generate", "--checkpoint", fifo.path, "--prompt", "Hi"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.err.hasPrefix("Error: checkpoint '\(fifo.path)'") && run.err.contains("named pipe"), run.err)
        let inspect = try TrainCommandTests.runEmber(["inspect", fifo.path])
        XCTAssertNotEqual(inspect.status, 0)
        XCTAssertTrue(inspect.err.contains("named pipe"), inspect.err)
    }

    func testUnwritableOutputIsRefusedBeforeTraining() throws {
        let file = dir.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try TrainingRun.checkOutputDirectory(file)) {
            XCTAssertEqual("\($0)", "output '\(file.path)' is a file, not a directory")
        }
        let taken = dir.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: taken.appendingPathComponent(TrainingRun.checkpointFileName),
                                                withIntermediateDirectories: true)
        XCTAssertThrowsError(try TrainingRun.checkOutputDirectory(taken)) { XCTAssertTrue("\($0)".contains("is a directory"), "\($0)") }
        let readOnly = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: readOnly.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: readOnly.path) }
        if access(readOnly.path, W_OK) != 0 { // root ignores permissions
            XCTAssertThrowsError(try TrainingRun.checkOutputDirectory(readOnly)) {
                XCTAssertTrue("\($0)".contains("cannot write into the output directory"), "\($0)")
            }
        }
        let before = listing()
        let run = try TrainCommandTests.runEmber(["train", "--preset", "tiny", "--epochs", "1", "--output", file.path])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.err, "Error: output '\(file.path)' is a file, not a directory\n")
        XCTAssertFalse(run.out.contains("Ep 1"), "nothing may be trained")
        XCTAssertEqual(listing(), before)
    }

    func testOSErrorsBecomeOneSentence() {
        let e = CocoaError(.fileWriteVolumeReadOnly, userInfo: [NSFilePathErrorKey: "/x/out/model.pth"])
        XCTAssertEqual(OSErrorText.sentence(e), "cannot write /x/out/model.pth: the volume is read-only")
        XCTAssertEqual(OSErrorText.sentence(CocoaError(.fileReadNoSuchFile)), "cannot read: no such file")
        XCTAssertNil(OSErrorText.sentence(TrainingError.invalidSetting("x")))
    }

    // MARK: - 7. --resume trusts nothing

    func testResumeValidatesCountersSettingsAndOptimizerState() throws {
        let run = try TrainingRun(text: TrainCommandTests.text, settings: TrainCommandTests.settings(epochs: 1), tokenizer: .gpt2())
        XCTAssertEqual(try run.runEpoch(log: { _ in }), .completed)
        let good = run.checkpoint().stateValue
        func edited(_ key: String, _ value: StateValue) -> StateValue {
            guard var d = good.dict else { return good }
            d[.string(key)] = value
            return .dict(d)
        }
        func refused(_ value: StateValue, _ text: String, line: UInt = #line) {
            do {
                let checkpoint = try TrainingCheckpoint(value, path: "c.pth")
                _ = try TrainingRun(text: TrainCommandTests.text, resumingFrom: checkpoint, path: "c.pth", tokenizer: .gpt2())
                XCTFail("accepted; expected '\(text)'", line: line)
            } catch {
                XCTAssertTrue("\(error)".contains(text), "\(error)", line: line)
                XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)", line: line)
            }
        }
        refused(edited("epoch", .int(-5)), "'epoch' is -5; it must be at least 0")
        refused(edited("global_step", .double(.nan)), "'global_step' is not an integer")
        refused(edited("tokens_seen", .int(-1)), "'tokens_seen' is -1")
        var settings = good["train_settings"]!.dict!
        settings["learning_rate"] = .string("x")
        refused(edited("train_settings", .dict(settings)), "train_settings")
        settings["learning_rate"] = .double(.infinity)
        refused(edited("train_settings", .dict(settings)), "learning rate must be a non-negative number")
        var config = good["config"]!.dict!
        config["emb_dim"] = .int(1 << 40)
        refused(edited("config", .dict(config)), "'config': emb_dim = 1099511627776 is outside")

        let optimizer = good["optimizer_state_dict"]!
        /// `v` with `v[key][index][…] = new` along `path` (dict keys or list indices).
        func replacing(_ v: StateValue, _ path: [StateKey], _ new: StateValue) -> StateValue {
            guard let first = path.first else { return new }
            if case .int(let i) = first, var items = v.elements {
                items[i] = replacing(items[i], Array(path.dropFirst()), new)
                return .list(items)
            }
            guard var d = v.dict else { return v }
            d[first] = replacing(d[first] ?? .none, Array(path.dropFirst()), new)
            return .dict(d)
        }
        refused(edited("optimizer_state_dict", replacing(optimizer, ["param_groups", .int(0), "lr"], .string("x"))),
                "optimizer_state_dict.param_groups[0].lr is 'x', not a finite number")
        refused(edited("optimizer_state_dict", replacing(optimizer, ["state", .int(0), "exp_avg"], .tensor(Tensor.zeros([3, 5])))),
                "optimizer_state_dict.state.0.exp_avg has shape [3, 5], the parameter has")
        refused(edited("optimizer_state_dict", replacing(optimizer, ["state", .int(1), "step"], .tensor(Tensor(Double.nan)))),
                "optimizer_state_dict.state.1.step is not one finite number")
        // The untouched checkpoint still resumes.
        XCTAssertNoThrow(try TrainingRun(text: TrainCommandTests.text, resumingFrom: try TrainingCheckpoint(good, path: "c.pth"),
                                         path: "c.pth", numEpochs: 2, tokenizer: .gpt2()))
    }

    func testResumeFromABadCheckpointOnTheCommandLineWritesNothing() throws {
        let run = try TrainingRun(text: TrainCommandTests.text, settings: TrainCommandTests.settings(epochs: 1), tokenizer: .gpt2())
        XCTAssertEqual(try run.runEpoch(log: { _ in }), .completed)
        var d = run.checkpoint().stateValue.dict!
        d["epoch"] = .int(-5)
        let url = dir.appendingPathComponent("bad.pth")
        try save(StateValue.dict(d), to: url)
        let before = listing()
        let out = dir.appendingPathComponent("out")
        let cli = try TrainCommandTests.runEmber(["train", "--resume", url.path, "--output", out.path])
        XCTAssertNotEqual(cli.status, 0)
        XCTAssertEqual(cli.err, "Error: checkpoint '\(url.path)': 'epoch' is -5; it must be at least 0\n")
        XCTAssertEqual(listing(), before)
    }
}
