@testable import EmberCore
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// Appendix E's LoRA run against `shared/fixtures/finetune` section `appendix_e_lora`: the notebook's
/// order (new head after `manualSeed(123)`, seeded accuracies, freeze, `replaceLinearWithLoRA(rank: 16,
/// alpha: 16)` — the A matrices drawn after the accuracy passes' draws), one epoch of
/// `trainClassifierSimple` with AdamW lr 8e-4 (every step's loss to 1e-5 relative, the printed lines
/// exact), then merged and unmerged logits on the first validation batch.
final class LoRATrainingTests: XCTestCase {
    func testAppendixETrainingAndMergedLogits() throws {
        let exp = jsonObject(try ClassificationDataTests.expected()["appendix_e_lora"])
        let model = try ClassificationFinetuneTests.model()
        let (train, validation, test) = try ClassificationFinetuneTests.datasets()
        manualSeed(123)
        let loaders = ClassificationLoaders(train: train, validation: validation, test: test, batchSize: 8)
        model.eval()
        manualSeed(123)
        model.out_head = Linear(64, 2)
        manualSeed(123)
        let before = [calcAccuracyLoader(loaders.train, model: model, numBatches: 10),
                      calcAccuracyLoader(loaders.validation, model: model, numBatches: 10),
                      calcAccuracyLoader(loaders.test, model: model, numBatches: 10)]
        let accBefore = jsonObject(exp["accuracy_before_lora"])
        XCTAssertEqual(before, ["train", "validation", "test"].map { jsonDouble(accBefore[$0]) })
        let counts = jsonObject(exp["param_counts"])
        XCTAssertEqual(model.numParameters(trainableOnly: true), counts["trainable_before"] as? Int)
        model.requiresGrad_(false)
        XCTAssertEqual(model.numParameters(trainableOnly: true), 0)
        _ = try replaceLinearWithLoRA(model, rank: 16, alpha: 16)
        XCTAssertEqual(model.numParameters(trainableOnly: true), counts["trainable_lora"] as? Int)
        XCTAssertEqual(model.numParameters(), counts["total_after_lora"] as? Int)

        manualSeed(123)
        let optimizer = AdamW(model.parameters(), lr: 8e-4, weightDecay: 0.1)
        var printed: [String] = [], stepLosses: [Double] = []
        let result = trainClassifierSimple(model: model, trainLoader: loaders.train, valLoader: loaders.validation,
                                           optimizer: optimizer, numEpochs: 1, evalFreq: 5, evalIter: 2,
                                           log: { printed.append($0) }) { _, step in stepLosses.append(step.loss.item()) }
        let training = jsonObject(exp["training"])
        let steps = training["steps"] as? [[String: Any]] ?? []
        assertClose(stepLosses, steps.map { jsonDouble($0["loss"]) }, rtol: 1e-5, atol: 0, "per-step LoRA training losses")
        XCTAssertEqual(printed, (training["printed"] as? [String]) ?? [])
        assertClose(result.losses.trainLosses, jsonDoubles(training["train_losses"]), rtol: 1e-5, atol: 0, "train_losses")
        assertClose(result.losses.valLosses, jsonDoubles(training["val_losses"]), rtol: 1e-5, atol: 0, "val_losses")
        XCTAssertEqual(result.trainAccs, jsonDoubles(training["train_accs"]))
        XCTAssertEqual(result.valAccs, jsonDoubles(training["val_accs"]))

        // Merged vs unmerged on the first validation batch, in eval mode.
        let merged = try model.mergedLoRACopy()
        model.eval()
        merged.eval()
        var batches = loaders.validation.makeIterator()
        let (inputs, _) = try XCTUnwrap(batches.next())
        let lastUnmerged = noGrad { model.lastTokenLogits(inputs) }
        let lastMerged = noGrad { merged.lastTokenLogits(inputs) }
        let mvu = jsonObject(exp["merged_vs_unmerged"])
        assertClose(lastUnmerged.toDoubles(), jsonDoubles(jsonObject(mvu["unmerged_last_token"])["values"]), rtol: 1e-4, atol: 1e-5, "unmerged last-token logits")
        assertClose(lastMerged.toDoubles(), jsonDoubles(jsonObject(mvu["merged_last_token"])["values"]), rtol: 1e-4, atol: 1e-5, "merged last-token logits")
        XCTAssertEqual(lastUnmerged.argmax(1).toArray(Int64.self), lastMerged.argmax(1).toArray(Int64.self))
    }
}
