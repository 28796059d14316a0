import EmberCore
import EmberIO
import EmberLLM
import Foundation
import XCTest

/// `ember finetune dpo` (issue 16 item 5) offline on a tiny model trained by `ember train`'s driver:
/// the notebook's log lines, the two plots, the tracking record and a tuned state dict that loads
/// back; a missing checkpoint is one clear sentence.
final class FinetuneDPOCommandTests: XCTestCase {
    func testFinetuneDPOOnATinyEmberTrainedModel() throws {
        guard TrainCommandTests.emberBinary != nil else { throw XCTSkip("the ember binary is not built next to the tests") }
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CheckpointTests.tinyRun()
        _ = try run.runEpoch(log: { _ in })
        try run.writeOutputs(to: dir)
        let checkpoint = dir.appendingPathComponent(TrainingRun.checkpointFileName)
        // 12 preference entries: the book's split gives 10 training, 1 validation, 1 test entry.
        let data = dir.appendingPathComponent("preferences.json")
        let entries = Array(try InstructionData.bundledPreferences().prefix(12))
        try JSONEncoder().encode(entries).write(to: data)
        let out = dir.appendingPathComponent("out")
        let result = try TrainCommandTests.runEmber(["finetune", "dpo", "--checkpoint", checkpoint.path, "--data", data.path,
                                                     "--batch-size", "4", "--eval-freq", "1", "--eval-iter", "1", "--output", out.path])
        XCTAssertEqual(result.status, 0, result.err)
        let lines = result.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("Policy and reference GPTModel: "), result.out)
        XCTAssertTrue(lines[0].hasSuffix("2 training and 1 validation batches"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("Ep 1 (Step 000000): Train loss 0.693, Val loss 0.693, Train reward margins "), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("Ep 1 (Step 000001): Train loss "), lines[2])
        XCTAssertTrue(lines.contains { $0.hasPrefix("Training completed in ") }, result.out)
        let saved = out.appendingPathComponent("model_and_optimizer-dpo.pth")
        for name in ["dpo-loss-plot.svg", "dpo-reward-margins-plot.svg", "dpo-tracking.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let svg = try String(contentsOf: out.appendingPathComponent("dpo-reward-margins-plot.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains(">Training reward margins</text>") && svg.contains(">Reward margins</text>"))
        let tracking = try JSONDecoder().decode(DPOTracking.self, from: Data(contentsOf: out.appendingPathComponent("dpo-tracking.json")))
        XCTAssertEqual(tracking.trainLosses.count, 2)
        XCTAssertEqual(tracking.trainLosses[0], 0.6931471824645996, accuracy: 1e-3, "one small step from policy = reference")
        XCTAssertEqual(tracking.tokensSeen.count, 2)
        // The tuned state dict loads back with the model's keys and changed weights; the start is untouched.
        let tuned = try XCTUnwrap(load(saved).tensorDict)
        let start = try GPTModel.fromPretrained(checkpoint, tieWeights: false)
        XCTAssertEqual(Set(tuned.keys), Set(start.stateDict().keys))
        XCTAssertFalse(try XCTUnwrap(tuned["out_head.weight"]).equal(start.out_head.weight))
        XCTAssertTrue(start.out_head.weight.equal(run.model.out_head.weight))

        let missing = try TrainCommandTests.runEmber(["finetune", "dpo", "--checkpoint", dir.appendingPathComponent("gpt2-medium355M-sft.pth").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("gpt2-medium355M-sft.pth") && missing.err.contains("ember finetune instruct"), missing.err)
    }
}
