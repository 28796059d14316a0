import EmberCore
import EmberIO
import EmberLLM
import Foundation
import XCTest

/// `ember finetune classify` and `ember classify` end to end, offline (issue 15 item 4): a tiny GPT
/// pretrained in Ember for one epoch, finetuned on the bundled SMS data with the book's pipeline.
final class FinetuneClassifyCommandTests: XCTestCase {
    func testOfflineChapterSixOnATinyModelTrainedInEmber() throws {
        guard TrainCommandTests.emberBinary != nil else { throw XCTSkip("the ember binary is not built next to the tests") }
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var settings = TrainingSettings(config: .tiny)
        settings.numEpochs = 1
        settings.evalFreq = 100
        let run = try TrainingRun(text: TrainCommandTests.text, settings: settings, tokenizer: .gpt2())
        _ = try TrainCommandTests.finish(run)
        try run.writeOutputs(to: dir)
        let pretrained = dir.appendingPathComponent(TrainingRun.checkpointFileName).path
        let output = dir.appendingPathComponent("classifier")

        let r = try TrainCommandTests.runEmber(["finetune", "classify", "--checkpoint", pretrained, "--output", output.path,
                                                "--max-length", "48", "--epochs", "2", "--lr", "0.002", "--eval-freq", "40"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Data: 5572 messages (4825 ham, 747 spam); balanced 1494; train 1045, validation 149, test 300") }, r.out)
        XCTAssertTrue(lines.contains("max_length 48; 130 training, 19 validation and 38 test batches"), r.out)
        for name in ["train.csv", "validation.csv", "test.csv", "loss-plot.svg", "accuracy-plot.svg", "review_classifier.pth", "review_classifier.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
        // The evaluation lines: the training loss goes down.
        let trainLosses = lines.filter { $0.hasPrefix("Ep ") }.compactMap { line -> Double? in
            guard let r = line.range(of: "Train loss ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0 != "," })
        }
        XCTAssertEqual(trainLosses.count, 7, r.out)   // steps 0, 40, …, 240 of 260
        XCTAssertLessThan(trainLosses.last!, trainLosses.first!, r.out)
        // The last "Test accuracy" line is after training, on the whole test set: above chance.
        let test = lines.last { $0.hasPrefix("Test accuracy: ") }.flatMap { Double($0.dropFirst(15).dropLast()) }
        XCTAssertGreaterThan(try XCTUnwrap(test, r.out), 60, r.out)

        let c = try TrainCommandTests.runEmber(["classify", "--checkpoint", output.appendingPathComponent("review_classifier.pth").path,
                                                "You are a winner you have been specially selected to receive $1000 cash or a $2000 award."])
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertTrue(["spam\n", "not spam\n"].contains(c.out), c.out)
        // The saved classifier gives what the run printed for the same text.
        XCTAssertTrue(lines.contains { $0 == c.out.dropLast() + ": You are a winner you have been specially selected to receive $1000 cash or a $2000 award." }, r.out)

        let long = try TrainCommandTests.runEmber(["classify", "--checkpoint", output.appendingPathComponent("review_classifier.pth").path,
                                                   "--max-length", "65", "hello"])
        XCTAssertNotEqual(long.status, 0)
        XCTAssertTrue(long.err.contains("exceeds the model's supported context length 64"), long.err)
        let tooLong = try TrainCommandTests.runEmber(["finetune", "classify", "--checkpoint", pretrained, "--output", output.path])
        XCTAssertNotEqual(tooLong.status, 0)
        XCTAssertTrue(tooLong.err.contains("pass --max-length 64"), tooLong.err)

        // Appendix E through the CLI: LoRA adapters on every Linear, the merged classifier and the
        // PEFT adapter written, `ember classify` reading the merged file.
        let loraOut = dir.appendingPathComponent("lora")
        let l = try TrainCommandTests.runEmber(["finetune", "classify", "--checkpoint", pretrained, "--output", loraOut.path,
                                                "--max-length", "48", "--epochs", "1", "--eval-freq", "40", "--lora", "--rank", "4", "--alpha", "8"])
        XCTAssertEqual(l.status, 0, l.err)
        XCTAssertTrue(l.out.contains("Total trainable LoRA parameters: "), l.out)
        for name in ["review_classifier.pth", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: loraOut.appendingPathComponent(name).path), name)
        }
        let lc = try TrainCommandTests.runEmber(["classify", "--checkpoint", loraOut.appendingPathComponent("review_classifier.pth").path, "Free entry!"])
        XCTAssertEqual(lc.status, 0, lc.err)
        XCTAssertTrue(["spam\n", "not spam\n"].contains(lc.out), lc.out)
    }

    /// Runs the built `ember` with extra environment variables.
    static func run(_ args: [String], environment: [String: String]) throws -> (status: Int32, out: String, err: String) {
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

    func testMissingWeightsSayHowToGetThem() throws {
        guard TrainCommandTests.emberBinary != nil else { throw XCTSkip("the ember binary is not built next to the tests") }
        // Careless LoRA options are usage errors before anything is loaded or written.
        for (args, message) in [(["--rank", "0"], "--rank must be at least 1, got 0"), (["--alpha", "nan"], "--alpha must be positive"),
                                (["--lr=-1"], "--lr must be positive")] {
            let bad = try TrainCommandTests.runEmber(["finetune", "classify", "--lora", "--model", "/nonexistent/dir/gpt2"] + args)
            XCTAssertNotEqual(bad.status, 0, args.joined(separator: " "))
            XCTAssertTrue(bad.err.contains(message), bad.err)
        }
        let r = try TrainCommandTests.runEmber(["finetune", "classify", "--model", "/nonexistent/dir/gpt2"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("no such file or directory"), r.err)
        let none = try TrainCommandTests.runEmber(["finetune", "classify"])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.err.contains("--checkpoint FILE") && none.err.contains("--model M"), none.err)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("ember-empty-hf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let offline = try Self.run(["finetune", "classify", "--model", "openai-community/gpt2", "--output", cache.appendingPathComponent("out").path],
                                                       environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": cache.path])
        XCTAssertNotEqual(offline.status, 0)
        XCTAssertTrue(offline.err.contains("openai-community/gpt2") && offline.err.contains("ember download openai-community/gpt2"), offline.err)
    }
}
