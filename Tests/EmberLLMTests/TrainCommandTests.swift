import EmberCore
import EmberIO
import EmberLLM
import Foundation
import XCTest

/// `ember train` / `ember generate` (issue 5 items 4–7): the training driver in-process on the tiny
/// preset (3,000 characters of "The Verdict": 5 steps an epoch), and the built `ember` binary for
/// argument errors and Ctrl-C when it sits next to the test bundle.
final class TrainCommandTests: XCTestCase {
    static let text: String = { String(try! BundledResource.theVerdict().unicodeScalars.prefix(3000)) }()

    static func settings(epochs: Int) -> TrainingSettings {
        var s = TrainingSettings(config: .tiny)
        s.numEpochs = epochs
        s.evalFreq = 2
        s.evalIter = 2
        return s
    }

    /// Runs every remaining epoch, collecting the printed lines.
    static func finish(_ run: TrainingRun) throws -> [String] {
        var lines: [String] = []
        while !run.isFinished { XCTAssertEqual(try run.runEpoch(log: { lines.append($0) }), .completed) }
        return lines
    }

    /// Rule: the book's order (seed, model, optimizer; loaders drawing only when iterated) makes a run a
    /// function of its seed — the same seed twice gives bit-identical losses and the same lines.
    func testSameSeedTwiceGivesTheSameLog() throws {
        let a = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 2), tokenizer: .gpt2())
        let linesA = try Self.finish(a)
        let b = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 2), tokenizer: .gpt2())
        let linesB = try Self.finish(b)
        XCTAssertEqual(a.trainLoader.count, 5)
        XCTAssertEqual(a.history.steps, [0, 2, 4, 6, 8])
        XCTAssertEqual(a.history, b.history)            // Double ==: bitwise for non-NaN losses
        XCTAssertEqual(linesA, linesB)
        XCTAssertTrue(linesA[0].hasPrefix("Ep 1 (Step 000000): Train loss "), linesA[0])
        XCTAssertTrue(linesA.contains { $0.hasPrefix("Every effort moves you") })
        // A different seed gives different weights, hence different losses.
        var other = Self.settings(epochs: 1)
        other.seed = 124
        let c = try TrainingRun(text: Self.text, settings: other, tokenizer: .gpt2())
        _ = try Self.finish(c)
        XCTAssertNotEqual(c.history.trainLosses.first, a.history.trainLosses.first)
    }

    /// Rule (issue item 4): 2 epochs, checkpoint to disk, resume for 2 more = 4 uninterrupted epochs,
    /// bit for bit (losses, printed lines, final weights).
    func testResumeReproducesUninterruptedRun() throws {
        let full = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 4), tokenizer: .gpt2())
        let fullLines = try Self.finish(full)

        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 2), tokenizer: .gpt2())
        var lines = try Self.finish(first)
        try first.writeOutputs(to: dir)
        manualSeed(999)                                 // disturb the global generator: resume must restore it
        let path = dir.appendingPathComponent(TrainingRun.checkpointFileName).path
        let checkpoint = try TrainingCheckpoint.load(contentsOf: URL(fileURLWithPath: path))
        let resumed = try TrainingRun(text: Self.text, resumingFrom: checkpoint, path: path, numEpochs: 4, tokenizer: .gpt2())
        XCTAssertEqual(resumed.epochsCompleted, 2)
        XCTAssertEqual(resumed.globalStep, 9)
        lines += try Self.finish(resumed)

        XCTAssertEqual(resumed.history, full.history)
        XCTAssertEqual(resumed.history.steps, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
        XCTAssertEqual(resumed.tokensSeen, full.tokensSeen)
        XCTAssertEqual(lines, fullLines)
        XCTAssertEqual(resumed.model.out_head.weight.toFloats(), full.model.out_head.weight.toFloats())
    }

    /// Rule (issue 12 item 10, Ctrl-C): a stop request part-way through an epoch saves the run there;
    /// resumed from that checkpoint, the run finishes with the uninterrupted run's losses, lines and
    /// weights bit for bit (the epoch's order drawn again, the trained batches skipped).
    func testInterruptedEpochSavesAndResumesExactly() throws {
        let full = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 3), tokenizer: .gpt2())
        let fullLines = try Self.finish(full)

        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 3), tokenizer: .gpt2())
        var lines: [String] = []
        XCTAssertEqual(try run.runEpoch(log: { lines.append($0) }), .completed)
        var asked = 0
        let outcome = try run.runEpoch(log: { lines.append($0) }, shouldStop: { asked += 1; return asked > 3 })
        XCTAssertEqual(outcome, .interrupted)
        XCTAssertTrue(run.isInterrupted)
        XCTAssertEqual(run.epochsCompleted, 1)
        XCTAssertEqual(run.stepsInEpoch, 2)
        XCTAssertEqual(run.globalStep, 6)                // 5 steps of epoch 1, then 2 of epoch 2
        try run.writeOutputs(to: dir)
        let path = dir.appendingPathComponent(TrainingRun.checkpointFileName).path
        let saved = try TrainingCheckpoint.load(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(saved.epoch, 1)
        XCTAssertEqual(saved.stepsInEpoch, 2)
        XCTAssertNotNil(saved.epochRNGState)

        manualSeed(999)                                  // resume must restore both generator states
        let resumed = try TrainingRun(text: Self.text, resumingFrom: saved, path: path, tokenizer: .gpt2())
        XCTAssertEqual(resumed.stepsInEpoch, 2)
        lines += try Self.finish(resumed)
        XCTAssertEqual(resumed.history, full.history)
        XCTAssertEqual(lines, fullLines)
        XCTAssertEqual(resumed.model.out_head.weight.toFloats(), full.model.out_head.weight.toFloats())
        XCTAssertNil(resumed.checkpoint().stepsInEpoch)  // an epoch boundary again

        // The interrupted run itself continues the same way in-process (the generator used in between).
        _ = try Self.finish(run)
        XCTAssertEqual(run.history, full.history)
        XCTAssertEqual(run.model.out_head.weight.toFloats(), full.model.out_head.weight.toFloats())
    }

    /// Rule (issue 12 item 10): with `--save-every 2`, 5 epochs write the checkpoint after epochs 2 and 4
    /// and at the end only, while the log follows every epoch (the loop `ember train` runs).
    func testSaveEveryWritesTheCheckpointOnSchedule() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 5), tokenizer: .gpt2())
        let checkpoint = dir.appendingPathComponent(TrainingRun.checkpointFileName)
        var savedEpochs: [Int?] = [], loggedEpochs: [Int?] = []
        while !run.isFinished {
            XCTAssertEqual(try run.runEpoch(log: { _ in }), .completed)
            try run.writeOutputs(to: dir, includingCheckpoint: run.isCheckpointDue(every: 2))
            savedEpochs.append(FileManager.default.fileExists(atPath: checkpoint.path) ? try TrainingCheckpoint.load(contentsOf: checkpoint).epoch : nil)
            let log = try JSONDecoder().decode(TrainingLog.self, from: Data(contentsOf: dir.appendingPathComponent(TrainingRun.logFileName)))
            loggedEpochs.append(log.epochs.last)
        }
        XCTAssertEqual(savedEpochs, [nil, 2, 2, 4, 5])
        XCTAssertEqual(loggedEpochs, [1, 2, 3, 4, 5])
        // Without --save-every: only the end.
        let once = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 3), tokenizer: .gpt2())
        var due: [Bool] = []
        while !once.isFinished { _ = try once.runEpoch(log: { _ in }); due.append(once.isCheckpointDue(every: nil)) }
        XCTAssertEqual(due, [false, false, true])
    }

    /// Rule (issue item 3): bad data files are messages naming the file.
    func testBadDataFiles() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.txt")
        XCTAssertThrowsError(try TrainingText.load(contentsOf: missing)) {
            XCTAssertEqual($0 as? TrainingError, .dataFileMissing(path: missing.path))
            XCTAssertEqual("\($0)", "data file '\(missing.path)' does not exist")
        }
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        XCTAssertThrowsError(try TrainingText.load(contentsOf: empty)) {
            XCTAssertEqual($0 as? TrainingError, .dataFileEmpty(path: empty.path))
        }
        let binary = dir.appendingPathComponent("binary.txt")
        try Data([0x48, 0x69, 0xFF, 0xFE, 0x00, 0x80]).write(to: binary)
        XCTAssertThrowsError(try TrainingText.load(contentsOf: binary)) {
            XCTAssertEqual($0 as? TrainingError, .dataNotUTF8(path: binary.path))
            XCTAssertEqual("\($0)", "data file '\(binary.path)' is not UTF-8 text")
        }
        XCTAssertThrowsError(try TrainingText.load(contentsOf: dir)) {
            XCTAssertEqual($0 as? TrainingError, .dataFileUnreadable(path: dir.path, reason: "it is a directory"))
        }
        let good = dir.appendingPathComponent("good.txt")
        try Data("Every effort moves you".utf8).write(to: good)
        XCTAssertEqual(try TrainingText.load(contentsOf: good), "Every effort moves you")
    }

    /// Rule (issue item 3; the book's ch. 5.1.3 checks): a text shorter than one window per split,
    /// or than one batch, and out-of-range settings are messages, not crashes.
    func testTooShortTextAndBadSettings() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        XCTAssertThrowsError(try TrainingRun(text: "Every effort moves you", settings: Self.settings(epochs: 1), tokenizer: tokenizer)) {
            XCTAssertEqual($0 as? TrainingError, .notEnoughTokens(part: "training", tokens: 4, needed: 65))
            XCTAssertTrue("\($0)".hasPrefix("Not enough tokens for the training loader"), "\($0)")
        }
        // 2,500 characters: the training split has windows, the validation split (250 characters) not.
        let short = String(Self.text.unicodeScalars.prefix(2500))
        XCTAssertThrowsError(try TrainingRun(text: short, settings: Self.settings(epochs: 1), tokenizer: tokenizer)) {
            guard case .notEnoughTokens(let part, _, let needed)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertEqual(part, "validation")
            XCTAssertEqual(needed, 65)
        }
        var big = Self.settings(epochs: 1)
        big.batchSize = 100
        XCTAssertThrowsError(try TrainingRun(text: Self.text, settings: big, tokenizer: tokenizer)) {
            XCTAssertTrue("\($0)".contains("fewer than one batch of 100"), "\($0)")
        }
        let cases: [(TrainingSettings, String)] = [
            ({ var s = Self.settings(epochs: 1); s.batchSize = 0; return s }(), "batch size must be positive, got 0"),
            ({ var s = Self.settings(epochs: 1); s.evalFreq = 0; return s }(), "eval frequency must be positive, got 0"),
            ({ var s = Self.settings(epochs: 0); s.evalIter = 1; return s }(), "epochs must be at least 1, got 0"),
            ({ var s = Self.settings(epochs: 1); s.learningRate = -1; return s }(), "learning rate must be a non-negative number, got -1.0"),
            (TrainingSettings(config: .tiny.with(nHeads: 3)), "the number of heads (3) must divide the embedding size (64)"),
            (TrainingSettings(config: .tiny.with(vocabSize: 1000)), "vocab size must be at least 50257 (GPT-2's tokenizer), got 1000"),
        ]
        for (settings, message) in cases {
            XCTAssertThrowsError(try settings.validate()) { XCTAssertEqual($0 as? TrainingError, .invalidSetting(message)) }
        }
        XCTAssertNoThrow(try TrainingSettings.book.validate())
        XCTAssertEqual(TrainingSettings.book.config, GPTConfig.gpt2Small124M.with(contextLength: 256))
    }

    /// Rule (book ch. 5.3): sampling from a checkpoint's model is `manual_seed(seed)` then `generate`;
    /// a full checkpoint and a bare state dict of the same weights give the same text; a prompt longer
    /// than the context is cropped to its last `context_length` tokens with a note.
    func testGenerateFromCheckpointAndBareStateDict() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let run = try TrainingRun(text: Self.text, settings: Self.settings(epochs: 1), tokenizer: tokenizer)
        _ = try Self.finish(run)
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try run.writeOutputs(to: dir)
        let bare = dir.appendingPathComponent("bare.pth")
        try save(run.model.stateDict(), to: bare)

        let full = try TrainingCheckpoint.loadModel(contentsOf: dir.appendingPathComponent(TrainingRun.checkpointFileName),
                                                    fallbackConfig: .gpt2Small124M).model
        let fromBare = try TrainingCheckpoint.loadModel(contentsOf: bare, fallbackConfig: .tiny).model
        let a = try samplePrompt(model: full, tokenizer: tokenizer, prompt: "Every effort moves you", maxNewTokens: 25,
                                 temperature: 1.4, topK: 25, seed: 123)
        let b = try samplePrompt(model: fromBare, tokenizer: tokenizer, prompt: "Every effort moves you", maxNewTokens: 25,
                                 temperature: 1.4, topK: 25, seed: 123)
        XCTAssertEqual(a, b)
        XCTAssertEqual(Array(a.tokenIds.prefix(4)), [6109, 3626, 6100, 345])   // "Every effort moves you" (C37)
        XCTAssertEqual(a.tokenIds.count, 4 + 25)
        XCTAssertTrue(a.text.hasPrefix("Every effort moves you"))
        XCTAssertNil(a.cropNote(contextLength: 64))
        // The same draws as the book's call on the in-memory model.
        run.model.eval()
        manualSeed(123)
        let direct = generate(model: run.model, idx: Tensor([[6109, 3626, 6100, 345]]), maxNewTokens: 25, contextSize: 64,
                              temperature: 1.4, topK: 25)
        XCTAssertEqual(direct.flatten().toInt64s().map(Int.init), a.tokenIds)

        let longPrompt = String(Self.text.unicodeScalars.prefix(1200))
        let promptIds = try tokenizer.encode(longPrompt, allowedSpecial: ["<|endoftext|>"])
        let cropped = try samplePrompt(model: full, tokenizer: tokenizer, prompt: longPrompt, maxNewTokens: 3,
                                       temperature: 0, topK: nil, seed: nil)
        XCTAssertEqual(cropped.promptTokens, promptIds.count)
        XCTAssertEqual(cropped.croppedTokens, promptIds.count - 64)
        XCTAssertEqual(Array(cropped.tokenIds.prefix(64)), Array(promptIds.suffix(64)))
        XCTAssertEqual(cropped.tokenIds.count, 64 + 3)
        XCTAssertEqual(cropped.cropNote(contextLength: 64),
                       "note: the prompt has \(promptIds.count) tokens but context_length is 64; only its last 64 tokens are used")
        XCTAssertThrowsError(try samplePrompt(model: full, tokenizer: tokenizer, prompt: "", maxNewTokens: 3, temperature: 0, topK: nil, seed: nil)) {
            XCTAssertEqual($0 as? TrainingError, .invalidSetting("the prompt is empty"))
        }
        XCTAssertThrowsError(try samplePrompt(model: full, tokenizer: tokenizer, prompt: "Hi", maxNewTokens: 3, temperature: 1, topK: 0, seed: nil)) {
            XCTAssertEqual($0 as? TrainingError, .invalidSetting("top-k must be positive, got 0"))
        }
    }

    /// The progress line's pieces (rule: tokens/s and time left from this process's pace).
    func testProgressBarLine() {
        let p = TrainingProgress(epoch: 2, numEpochs: 10, step: 3, stepsPerEpoch: 9, globalStep: 11, loss: 6.0123,
                                 sessionTokens: 12 * 512, sessionSteps: 12, elapsed: 96)
        XCTAssertEqual(p.tokensPerSecond, 64)
        XCTAssertEqual(p.secondsLeft, 8 * (8 * 9 + 6))                       // 8 s a step, 78 steps left
        XCTAssertEqual(ProgressBar(width: 9).line(p), "Ep 2/10 [###------] 3/9  loss 6.012  64 tok/s  ETA 10:24")
        XCTAssertEqual(ProgressBar.duration(3725), "1:02:05")
        XCTAssertEqual(ProgressBar(width: 9).plainLine(p), "progress: epoch 2/10, step 3/9  loss 6.012  64 tok/s  ETA 10:24")
    }

    // MARK: - The built binary

    /// `ember` next to the test bundle (SwiftPM builds it with the tests), or nil.
    static var emberBinary: URL? {
        #if os(macOS)
        let dir = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL.deletingLastPathComponent()
        #else
        let dir: URL? = Bundle.main.bundleURL
        #endif
        guard let url = dir?.appendingPathComponent("ember"), FileManager.default.isExecutableFile(atPath: url.path) else { return nil }
        return url
    }

    static func runEmber(_ args: [String], interruptAfter: ((Process) -> Void)? = nil) throws -> (status: Int32, out: String, err: String) {
        guard let binary = emberBinary else { throw XCTSkip("the ember binary is not built next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        interruptAfter?(p)
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// `ember eval` (issue 14 item 4): the book's chapter 5.1.3 lines and the perplexities, exactly
    /// `evaluateLosses`' numbers for the same model and text; `--context-length` is the window.
    func testEmberEvalPrintsTheBookLossesAndPerplexity() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, modelArgs) = try CheckpointTests.savedTinyModel(in: dir)
        let data = dir.appendingPathComponent("text.txt")
        try Data(Self.text.utf8).write(to: data)
        let expected = try evaluateLosses(model: model, text: Self.text, tokenizer: .gpt2(), contextLength: 16, batchSize: 3)
        let run = try Self.runEmber(["eval", "--data", data.path, "--batch-size", "3"] + modelArgs)
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.out, expected.lines.joined(separator: "\n") + "\n")
        XCTAssertTrue(run.out.hasPrefix("Training loss: "), run.out)
        XCTAssertEqual(run.err, "")
        let bad = try Self.runEmber(["eval", "--train-ratio", "1"] + modelArgs)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("--train-ratio"), bad.err)
    }

    /// Rule (issue item 3): unknown options and bad files end with a message and a non-zero status.
    func testBinaryRejectsBadArguments() throws {
        let unknown = try Self.runEmber(["train", "--bogus"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("Unknown option '--bogus'"), unknown.err)
        let missing = try Self.runEmber(["train", "--data", "/nonexistent/verdict.txt"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("data file '/nonexistent/verdict.txt' does not exist"), missing.err)
        let resume = try Self.runEmber(["train", "--resume", "x.pth", "--lr", "0.1"])
        XCTAssertNotEqual(resume.status, 0)
        XCTAssertTrue(resume.err.contains("remove --lr"), resume.err)
        let noCheckpoint = try Self.runEmber(["generate", "--checkpoint", "/nonexistent.pth"])
        XCTAssertEqual(noCheckpoint.status, 1)
        XCTAssertTrue(noCheckpoint.err.contains("checkpoint '/nonexistent.pth': no such file"), noCheckpoint.err)
    }

    /// Rule (issue #7 item 3): `--device` takes PyTorch's device strings; an unknown one is a usage
    /// error, an unavailable one ends with its reason and status 1 before anything is built (vulkan:1
    /// is unavailable on every machine: a process drives one Vulkan device), and only the examples that
    /// move modules take it.
    func testBinaryDeviceOption() throws {
        let unknown = try Self.runEmber(["train", "--device", "tpu"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("unknown device 'tpu'; known: cpu, vulkan:0"), unknown.err)
        let meta = try Self.runEmber(["generate", "--checkpoint", "x.pth", "--device", "meta"])
        XCTAssertNotEqual(meta.status, 0)
        XCTAssertTrue(meta.err.contains("unknown device 'meta'; known: cpu, vulkan:0"), meta.err)
        for args in [["train", "--device", "vulkan:1"], ["generate", "--checkpoint", "x.pth", "--device", "vulkan:1"],
                     ["example", "buffers", "--device", "vulkan:1"]] {
            let r = try Self.runEmber(args)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertTrue(r.err.contains("vulkan:1 is not available: "), "\(args): \(r.err)")
            XCTAssertEqual(r.out, "", "\(args): nothing runs")
        }
        let cpuOnly = try Self.runEmber(["example", "attention", "--device", "vulkan:0"])
        XCTAssertNotEqual(cpuOnly.status, 0)
        XCTAssertTrue(cpuOnly.err.contains("the 'attention' example runs on the CPU only; --device applies to: buffers"), cpuOnly.err)
    }

    /// Rule (issue item 3, issue 12 item 10): Ctrl-C (SIGINT) stops `ember train` with status 130 and
    /// saves the run where it stopped (the checkpoint is written on Ctrl-C, not after every epoch).
    func testBinaryCtrlCSavesTheRun() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.txt")
        try Data(Self.text.utf8).write(to: data)
        let out = dir.appendingPathComponent("out")
        let log = out.appendingPathComponent(TrainingRun.logFileName)
        let checkpoint = out.appendingPathComponent(TrainingRun.checkpointFileName)
        var checkpointBeforeInterrupt = true
        let result = try Self.runEmber(["train", "--preset", "tiny", "--data", data.path, "--epochs", "1000", "--output", out.path]) { p in
            let deadline = Date().addingTimeInterval(120)
            while !FileManager.default.fileExists(atPath: log.path) && Date() < deadline && p.isRunning { usleep(50_000) }
            checkpointBeforeInterrupt = FileManager.default.fileExists(atPath: checkpoint.path)
            kill(p.processIdentifier, SIGINT)
        }
        XCTAssertEqual(result.status, 130, result.err)
        XCTAssertFalse(checkpointBeforeInterrupt, "the checkpoint is not written after every epoch")
        XCTAssertTrue(result.err.contains("Interrupted during epoch"), result.err)
        let saved = try TrainingCheckpoint.load(contentsOf: checkpoint)
        XCTAssertGreaterThanOrEqual(saved.epoch ?? 0, 1)
        XCTAssertTrue(result.err.contains("Interrupted during epoch \((saved.epoch ?? 0) + 1) after \(saved.stepsInEpoch ?? 0) of its 5 steps"), result.err)
        let bad = try Self.runEmber(["train", "--save-every", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("--save-every must be at least 1"), bad.err)
    }
}
