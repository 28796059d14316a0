@testable import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest

/// Chapter 6's finetuning (`gpt_class_finetune.py`) against `shared/fixtures/finetune` section
/// `ch06_finetune`: the tiny GPT-2 loaded as the book loads it, the surgery, the accuracies and losses
/// before training, every training step (loss to 1e-5 relative, dataset indices exact), the printed
/// lines, the returned logs and the state after training.
final class ClassificationFinetuneTests: XCTestCase {
    static func finetune() throws -> [String: Any] { jsonObject(try ClassificationDataTests.expected()["ch06_finetune"]) }

    /// `GPTModel(cfg)` + `load_weights_into_gpt`: separate tok_emb and out_head Parameters.
    static func model() throws -> GPTModel {
        try GPTModel.fromPretrained(try SharedFolder.file("fixtures/hf-gpt2/model"), tieWeights: false)
    }

    /// The fixture's datasets: every CSV cut/padded to 64, the training set its first 80 items.
    static func datasets() throws -> (train: Subset<SpamDataset>, validation: SpamDataset, test: SpamDataset) {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let csv = { (name: String) in try SharedFolder.file("data/sms_spam_collection/\(name).csv") }
        let train = try SpamDataset(csv: csv("train"), tokenizer: tokenizer, maxLength: 64)
        return (Subset(train, indices: Array(0..<80)),
                try SpamDataset(csv: csv("validation"), tokenizer: tokenizer, maxLength: 64),
                try SpamDataset(csv: csv("test"), tokenizer: tokenizer, maxLength: 64))
    }

    static func tensor(_ any: Any?) -> [Double] { jsonDoubles(jsonObject(any)["values"]) }

    func testCh06SurgeryHeadAndBeforeTraining() throws {
        let exp = try Self.finetune()
        let model = try Self.model()
        let blockZero = model.trf_blocks.children()[0].stateDict().mapValues { $0.toFloats() }
        model.prepareForClassification(numClasses: 2, seed: 123)
        let head = jsonObject(exp["head_init"])
        XCTAssertEqual(model.out_head.weight.toFloats(), Self.tensor(head["weight"]).map { Float($0) }, "head weight: the seeded draws")
        XCTAssertEqual(model.out_head.bias?.toFloats(), Self.tensor(head["bias"]).map { Float($0) }, "head bias")
        XCTAssertEqual(model.numParameters(trainableOnly: true), exp["trainable_params"] as? Int)
        XCTAssertEqual(model.numParameters(), exp["total_params"] as? Int)

        let outputs = jsonObject(exp["head_outputs"])
        let ids = try GPT2Tokenizer.gpt2().encode(outputs["text"] as! String)
        XCTAssertEqual(ids, jsonInts(outputs["input_ids"]))
        let input = Tensor(array: ids.map(Int64.init), shape: [1, ids.count])
        let full = noGrad { model(input) }
        XCTAssertEqual(full.shape, [1, 4, 2])
        assertClose(full.toDoubles(), Self.tensor(outputs["outputs"]), rtol: 1e-5, atol: 1e-6, "head outputs")
        let last = noGrad { model.lastTokenLogits(input) }
        assertClose(last.toDoubles(), jsonDoubles(outputs["last_token"]), rtol: 1e-5, atol: 1e-6, "last token")
        XCTAssertEqual(Int(last.argmax(-1).item()), outputs["class_label"] as? Int)

        let (train, validation, test) = try Self.datasets()
        manualSeed(123)
        let loaders = ClassificationLoaders(train: train, validation: validation, test: test, batchSize: 8)
        let before = jsonObject(exp["before_training"])
        manualSeed(123)
        let accuracies = [calcAccuracyLoader(loaders.train, model: model, numBatches: 10),
                          calcAccuracyLoader(loaders.validation, model: model, numBatches: 10),
                          calcAccuracyLoader(loaders.test, model: model, numBatches: 10)]
        let acc = jsonObject(before["accuracy"])
        XCTAssertEqual(accuracies, ["train", "validation", "test"].map { jsonDouble(acc[$0]) })
        let losses = noGrad { [calcClassificationLossLoader(loaders.train, model: model, numBatches: 5),
                               calcClassificationLossLoader(loaders.validation, model: model, numBatches: 5),
                               calcClassificationLossLoader(loaders.test, model: model, numBatches: 5)] }
        let loss = jsonObject(before["loss"])
        assertClose(losses, ["train", "validation", "test"].map { jsonDouble(loss[$0]) }, rtol: 1e-5, atol: 0, "losses before training")
        XCTAssertEqual(model.trf_blocks.children()[0].stateDict().mapValues { $0.toFloats() }, blockZero)
    }

    func testCh06TrainClassifierSimpleStepByStep() throws {
        let exp = try Self.finetune()
        let model = try Self.model()
        let blockZero = model.trf_blocks.children()[0].stateDict().mapValues { $0.toFloats() }
        model.prepareForClassification(numClasses: 2, seed: 123)
        let (train, validation, test) = try Self.datasets()
        let recording = RecordingDataset(train)
        manualSeed(123)
        let loaders = ClassificationLoaders(train: recording, validation: validation, test: test, batchSize: 8)
        // The fixture's before_training pass moved the generator; training reseeds, as the book does.
        manualSeed(123)
        let optimizer = AdamW(model.parameters(), lr: 5e-5, weightDecay: 0.1)
        var printed: [String] = [], stepLosses: [Double] = [], stepIndices: [[Int]] = []
        var seenReads = 0
        let result = trainClassifierSimple(model: model, trainLoader: loaders.train, valLoader: loaders.validation,
                                           optimizer: optimizer, numEpochs: 2, evalFreq: 5, evalIter: 2,
                                           log: { printed.append($0) }) { _, step in
            stepLosses.append(step.loss.item())
            // Reads since the last step: an epoch-end accuracy pass (if any), the step's 8 items, then,
            // when this step evaluated, the evaluation's training batches: `eval_iter` = 2 used plus the
            // third that the book's `for … enumerate(loader): … else: break` fetches before breaking.
            let reads = Array(recording.log.indices[seenReads...])
            seenReads = recording.log.indices.count
            let evalReads = step.globalStep % 5 == 0 ? 24 : 0
            stepIndices.append(Array(reads[(reads.count - evalReads - 8)..<(reads.count - evalReads)]))
        }
        let training = jsonObject(exp["training"])
        let steps = training["steps"] as? [[String: Any]] ?? []
        XCTAssertEqual(stepLosses.count, steps.count)
        XCTAssertEqual(stepIndices, steps.map { jsonInts($0["dataset_indices"]) }, "each step's batch")
        assertClose(stepLosses, steps.map { jsonDouble($0["loss"]) }, rtol: 1e-5, atol: 0, "per-step training losses")
        XCTAssertEqual(printed, (training["printed"] as? [String]) ?? [])
        assertClose(result.losses.trainLosses, jsonDoubles(training["train_losses"]), rtol: 1e-5, atol: 0, "train_losses")
        assertClose(result.losses.valLosses, jsonDoubles(training["val_losses"]), rtol: 1e-5, atol: 0, "val_losses")
        XCTAssertEqual(result.trainAccs, jsonDoubles(training["train_accs"]))
        XCTAssertEqual(result.valAccs, jsonDoubles(training["val_accs"]))
        XCTAssertEqual(result.examplesSeen, training["examples_seen"] as? Int)
        XCTAssertEqual(result.losses.steps, [0, 5, 10, 15])

        let after = jsonObject(exp["after_training"])
        assertClose(model.out_head.weight.toDoubles(), Self.tensor(after["out_head_weight"]), rtol: 1e-4, atol: 2e-6, "out_head.weight after training")
        assertClose(model.out_head.bias!.toDoubles(), Self.tensor(after["out_head_bias"]), rtol: 1e-4, atol: 2e-6, "out_head.bias after training")
        assertClose(model.final_norm.scale.toDoubles(), Self.tensor(after["final_norm_scale"]), rtol: 1e-4, atol: 2e-6, "final_norm.scale")
        assertClose(model.final_norm.shift.toDoubles(), Self.tensor(after["final_norm_shift"]), rtol: 1e-4, atol: 2e-6, "final_norm.shift")
        let lastBlock = model.trf_blocks.children()[1].stateDict()
        for (key, value) in jsonObject(after["last_block"]) {
            let e = jsonObject(value)
            let t = try XCTUnwrap(lastBlock[key], key)
            XCTAssertEqual(t.shape, jsonInts(e["shape"]), key)
            // The key bias's true gradient is zero (adding q·b to every score of a query leaves its
            // softmax unchanged), so AdamW turns float32 noise into lr-sized steps in either direction:
            // it can only be held to the total size of the 20 steps (20 × 5e-5).
            let atol = key == "att.W_key.bias" ? 20 * 5e-5 : 2e-6
            assertClose(Array(t.toDoubles().prefix(4)), jsonDoubles(e["first4"]), rtol: 1e-4, atol: atol, "last block \(key)")
        }
        XCTAssertEqual(model.trf_blocks.children()[0].stateDict().mapValues { $0.toFloats() }, blockZero, "block 0 is frozen")
        let full = jsonObject(after["full_accuracy"])
        XCTAssertEqual([calcAccuracyLoader(loaders.train, model: model), calcAccuracyLoader(loaders.validation, model: model),
                        calcAccuracyLoader(loaders.test, model: model)],
                       ["train", "validation", "test"].map { jsonDouble(full[$0]) })
    }
}

/// Issue 15 item 5: a finetuning step never differentiates the frozen prefix. An op records a graph
/// node only when an input requires grad (`Tensor.needsGrad`), so after the surgery the graph of the
/// loss starts at the last block: its leaves are exactly the trainable parameters, and no node of the
/// embeddings or the frozen blocks exists for the backward to visit.
final class FrozenPrefixGraphTests: XCTestCase {
    /// Every node reachable from `root`'s `grad_fn`, and the leaf tensors their accumulators feed.
    static func graph(_ root: Tensor) -> (nodes: [Node], leaves: Set<ObjectIdentifier>) {
        var nodes: [Node] = [], seen = Set<ObjectIdentifier>(), leaves = Set<ObjectIdentifier>()
        var stack = [root.gradFn].compactMap { $0 }
        while let node = stack.popLast() {
            guard seen.insert(ObjectIdentifier(node)).inserted else { continue }
            nodes.append(node)
            if let acc = node as? AccumulateGrad { leaves.insert(ObjectIdentifier(acc.variable)) }
            stack.append(contentsOf: node.next.compactMap { $0 })
        }
        return (nodes, leaves)
    }

    func testTheGraphStopsAtTheFirstTrainableParameter() {
        let cfg = GPTConfig(vocabSize: 120, contextLength: 12, embDim: 16, nHeads: 2, nLayers: 3, dropRate: 0, qkvBias: true)
        manualSeed(1)
        let model = GPTModel(cfg)
        let inputs = Tensor(array: (0..<24).map { Int64($0 * 5 % 120) }, shape: [2, 12])
        let targets = Tensor(array: [Int64(0), 1], shape: [2])

        // Everything trainable (a full finetune) for comparison.
        model.prepareForClassification(numClasses: 2, seed: 123)
        model.requiresGrad_(true)
        let all = Self.graph(calcClassificationLossBatch(inputs, targets, model: model))
        XCTAssertTrue(all.nodes.contains { $0.name == "EmbeddingBackward0" })

        // The book's surgery: last block, final norm and head only.
        model.prepareForClassification(numClasses: 2, seed: 123)
        let loss = calcClassificationLossBatch(inputs, targets, model: model)
        let (nodes, leaves) = Self.graph(loss)
        let trainable = Set(model.parameters().filter(\.requiresGrad).map(ObjectIdentifier.init))
        XCTAssertEqual(leaves, trainable, "the graph's leaves are the trainable parameters, no frozen one")
        XCTAssertFalse(nodes.contains { $0.name == "EmbeddingBackward0" }, "no node for the embeddings")
        XCTAssertLessThan(nodes.count * 2, all.nodes.count, "one block of three (plus the head) is recorded: \(nodes.count) of \(all.nodes.count) nodes")
        // The frozen prefix's output carries no graph at all.
        let prefix = model.trf_blocks.children()[0]
        let hidden = (prefix as! TransformerBlock)(model.tok_emb(inputs) + model.pos_emb(Tensor.arange(0, 12)))
        XCTAssertNil(hidden.gradFn)
        XCTAssertFalse(hidden.requiresGrad)
        loss.backward()
        for (name, p) in model.namedParameters() {
            XCTAssertEqual(p.grad != nil, p.requiresGrad, name)
        }
    }
}
