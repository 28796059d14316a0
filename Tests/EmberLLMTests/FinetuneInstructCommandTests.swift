import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import Foundation
import XCTest

/// `ember finetune instruct` offline on a tiny model made in Ember (the built `ember` binary next to
/// the test bundle): the book's steps on 10 entries per split, the answers file and the finetuned
/// weights, which reproduce the answers when loaded again.
final class FinetuneInstructCommandTests: XCTestCase {
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        guard let binary = TrainCommandTests.emberBinary else { throw XCTSkip("the ember binary is not built next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testFinetunesAnEmberModelOfflineAndWritesAnswersAndWeights() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        manualSeed(123)
        let config = GPTConfig.tiny
        let base = GPTModel(config)
        let checkpoint = dir.appendingPathComponent("base.pth")
        try TrainingCheckpoint(modelState: .stateDict(base.stateDict()), config: config).save(to: checkpoint)
        let output = dir.appendingPathComponent("out")

        let r = try run(["finetune", "instruct", "--checkpoint", checkpoint.path, "--limit", "10", "--epochs", "1",
                         "--max-new-tokens", "6", "--generate-batch-size", "4", "--output", output.path])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(3)), ["Training set length: 10", "Validation set length: 10", "Test set length: 10"])
        XCTAssertTrue(lines.contains("Initial losses"), r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Ep 1 (Step 000000): Train loss ") }, r.out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Below is an instruction that describes a task.") }, "the epoch's sample: \(r.out)")
        let sft = output.appendingPathComponent("model-sft.pth")
        XCTAssertTrue(lines.contains("Model saved as \(sft.path)"), r.out)
        for name in [TrainingRun.plotFileName, TrainingRun.logFileName] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }

        // The saved weights are trained (they differ from the base) and give the saved answers again.
        let (tuned, _) = try TrainingCheckpoint.loadModel(contentsOf: sft, fallbackConfig: config)
        XCTAssertFalse(tuned.out_head.weight.equal(base.out_head.weight))
        XCTAssertEqual(Set(tuned.stateDict().keys), Set(base.stateDict().keys))
        let test = Array(InstructionData.split(try InstructionData.bundled()).test.prefix(10))
        let expected = try InstructionResponses.generate(model: tuned, entries: test, tokenizer: .gpt2(), maxNewTokens: 6,
                                                        contextSize: config.contextLength)
        let file = output.appendingPathComponent(InstructionResponses.fileName)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), InstructionResponses.json(expected))
        XCTAssertEqual(try JSONDecoder().decode([InstructionResponse].self, from: Data(contentsOf: file)).map(\.instruction),
                       test.map(\.instruction))
    }

    func testErrorsSayWhatToDo() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("ember-empty-hf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let offline = try run(["finetune", "instruct", "--model", "gpt2-medium", "--output", cache.appendingPathComponent("out").path],
                              environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": cache.path])
        XCTAssertNotEqual(offline.status, 0)
        XCTAssertTrue(offline.err.contains("openai-community/gpt2-medium") && offline.err.contains("--checkpoint"), offline.err)
        let badBatch = try run(["finetune", "instruct", "--checkpoint", "x.pth", "--batch-size", "0"])
        XCTAssertNotEqual(badBatch.status, 0)
        XCTAssertTrue(badBatch.err.contains("--batch-size must be positive"), badBatch.err)
        let missing = try run(["finetune", "instruct", "--checkpoint", "/nonexistent/x.pth"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("/nonexistent/x.pth"), missing.err)
    }
}
