import EmberCore
import EmberIO
import EmberLLM
import EmberTestSupport
import Foundation
import XCTest

/// `ember generate --model`, `ember eval --model` and `ember export` on the tiny pretrained GPT-2
/// (hf-gpt2 fixture's `model/` directory, 13 MB, from the shared folder).
final class PretrainedCommandTests: XCTestCase {
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

    func testGenerateFromAModelDirectoryPrintsTheBooksSampledText() throws {
        let dir = try SharedFolder.file("fixtures/hf-gpt2/model")
        // finetune/expected.json weight_loading: torch.manual_seed(123); generate(top_k=25, temperature=1.4), 15 tokens.
        let expected = "Every effort moves you abundantly rise\u{FFFD} rocky tollCombataiiWW Uri1993orm xx dupl cpukay"
        let r = try run(["generate", "--model", dir.path, "--max-new-tokens", "15", "--ignore-eos"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, expected + "\n")
        // The same through the single weights file with its config.json beside it.
        let r2 = try run(["generate", "--model", dir.appendingPathComponent("model.safetensors").path, "--max-new-tokens", "15", "--ignore-eos"])
        XCTAssertEqual(r2.out, expected + "\n", r2.err)
    }

    func testEvalExportAndTheirErrors() throws {
        let dir = try SharedFolder.file("fixtures/hf-gpt2/model")
        let model = try GPTModel.fromPretrained(dir)
        let text = try TrainingText.theVerdict()
        let expected = try evaluateLosses(model: model, text: text, tokenizer: .gpt2(), contextLength: 64, batchSize: 2)
        let eval = try run(["eval", "--model", dir.path, "--context-length", "64"])
        XCTAssertEqual(eval.status, 0, eval.err)
        XCTAssertEqual(eval.out.split(separator: "\n").map(String.init), expected.lines)

        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ember-export-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let export = try run(["export", "--checkpoint", dir.path, "--to", out.path])
        XCTAssertEqual(export.status, 0, export.err)
        let reloaded = try GPTModel.fromPretrained(out)
        let ids = Tensor(array: [Int64(6109), 3626, 6100, 345], shape: [1, 4])
        XCTAssertEqual(InferenceDType.maxAbsDifference(noGrad { model(ids) }, noGrad { reloaded(ids) }), 0)

        // Errors: both or neither source, an offline Hub with an empty cache, a file that is no model.
        let neither = try run(["generate"])
        XCTAssertNotEqual(neither.status, 0)
        XCTAssertTrue(neither.err.contains("--checkpoint FILE") && neither.err.contains("--model M"), neither.err)
        XCTAssertNotEqual(try run(["eval", "--model", dir.path, "--checkpoint", "x.pth"]).status, 0)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("ember-empty-hf-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let offline = try run(["generate", "--model", "gpt2-medium"], environment: ["HF_HUB_OFFLINE": "1", "HF_HOME": cache.path])
        XCTAssertNotEqual(offline.status, 0)
        XCTAssertTrue(offline.err.contains("openai-community/gpt2-medium"), offline.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.appendingPathComponent("hub/models--openai-community--gpt2-medium/snapshots").path))
        let notModel = try run(["generate", "--model", "/etc/hostname"])
        XCTAssertNotEqual(notModel.status, 0)
        XCTAssertTrue(notModel.err.contains("/etc/hostname"), notModel.err)
    }
}
