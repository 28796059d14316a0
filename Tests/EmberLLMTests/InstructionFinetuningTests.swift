import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// Chapter 7's instruction finetuning against the book's deterministic vectors and the `finetune`
/// fixture's `ch07` section (the book's own code, `gpt_instruction_finetuning.py`, run by PyTorch 2.15
/// on the tiny GPT-2 of the hf-gpt2 fixture, read from the shared folder).
final class InstructionFinetuningTests: XCTestCase {
    // MARK: - The book's printed vectors (ch. 7 §7.3), no fixture needed

    func testBookToyCollateAndIgnoreIndexCrossEntropy() {
        let batch = [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]
        let (inputs, targets) = customCollate(batch)
        XCTAssertEqual(inputs.shape, [3, 5])
        XCTAssertEqual(inputs.toInt64s(), [0, 1, 2, 3, 4, 5, 6, 50256, 50256, 50256, 7, 8, 9, 50256, 50256])
        XCTAssertEqual(targets.toInt64s(), [1, 2, 3, 4, 50256, 6, 50256, -100, -100, -100, 8, 9, 50256, -100, -100])
        XCTAssertEqual(inputs.dtype, .int64)
        XCTAssertEqual(targets.dtype, .int64)
        // §7.3: the -100 targets contribute nothing to the cross-entropy.
        let logits1 = Tensor([[-1.0, 1.0], [-0.5, 1.5]])
        let loss1 = crossEntropy(logits1, Tensor(array: [Int64(0), 1], shape: [2])).item()
        let logits2 = Tensor([[-1.0, 1.0], [-0.5, 1.5], [-0.5, 1.5]])
        let loss2 = crossEntropy(logits2, Tensor(array: [Int64(0), 1, 1], shape: [3])).item()
        let loss3 = crossEntropy(logits2, Tensor(array: [Int64(0), 1, -100], shape: [3])).item()
        XCTAssertEqual(String(format: "%.4f %.4f %.4f", loss1, loss2, loss3), "1.1269 0.7936 1.1269")
        XCTAssertEqual(loss1, loss3)
    }

    func testMaskInstructionMasksThePromptTargetsOnly() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let entries = Array(try InstructionData.bundled().prefix(3))
        let dataset = try InstructionDataset(entries, tokenizer: tokenizer)
        let samples = (0..<3).map { dataset[$0] }
        let plain = customCollate(samples, allowedMaxLength: 1024).targets
        let masked = customCollate(samples, allowedMaxLength: 1024, maskInstruction: true).targets
        let width = plain.shape[1]
        for (row, sample) in samples.enumerated() {
            XCTAssertEqual(sample.instructionLength, try tokenizer.encode(formatInput(entries[row])).count)
            let p = Array(plain.toInt64s()[row * width ..< (row + 1) * width])
            let m = Array(masked.toInt64s()[row * width ..< (row + 1) * width])
            let cut = sample.instructionLength - 1          // exercise 7.2: targets[:instruction_length-1] = -100
            XCTAssertEqual(Array(m[..<cut]), Array(repeating: -100, count: cut), "row \(row)")
            XCTAssertEqual(Array(m[cut...]), Array(p[cut...]), "row \(row)")
            // The first unmasked target is the first token of "\n\n### Response:\n".
            XCTAssertEqual(m[cut], Int64(sample.tokenIds[cut + 1]))
        }
    }

    func testResponseExtractionAndTheBooksJSONFile() throws {
        let prompt = formatInput(InstructionEntry(instruction: "Name a color.", output: "Blue."))
        XCTAssertEqual(InstructionResponses.extractResponse(generatedText: prompt + "\n\n### Response:\nRed. \n", inputText: prompt), "Red.")
        XCTAssertEqual(InstructionResponses.extractResponse(generatedText: prompt, inputText: prompt), "")
        let r = InstructionResponse(InstructionEntry(instruction: "Say \"hi\"\tnow", input: "caf\u{E9} \u{1F600}\\", output: "x\ny"),
                                    modelResponse: "\u{7F}ok")
        // What Python's json.dump([...], f, indent=4) writes (ensure_ascii: \u escapes, surrogate pairs).
        XCTAssertEqual(InstructionResponses.json([r, r]).components(separatedBy: "\n").prefix(7).joined(separator: "\n"), #"""
            [
                {
                    "instruction": "Say \"hi\"\tnow",
                    "input": "caf\u00e9 \ud83d\ude00\\",
                    "output": "x\ny",
                    "model_response": "\u007fok"
                },
            """#)
        XCTAssertTrue(InstructionResponses.json([r, r]).hasSuffix("    }\n]"))
        XCTAssertEqual(InstructionResponses.json([]), "[]")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("responses-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try InstructionResponses.write([r], to: url)
        XCTAssertEqual(try JSONDecoder().decode([InstructionResponse].self, from: Data(contentsOf: url)), [r])
        XCTAssertEqual(InstructionFinetuningSettings.sftFileName(for: .gpt2Medium355M), "gpt2-medium355M-sft.pth")
        XCTAssertEqual(InstructionFinetuningSettings.sftFileName(for: .tiny), "model-sft.pth")
    }

    // MARK: - The fixture (`finetune/expected.json`, section `ch07`)

    static func section() throws -> [String: Any] {
        let url = try SharedFolder.file("fixtures/finetune/expected.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return jsonObject(root["ch07"])
    }

    static func splits() throws -> (train: [InstructionEntry], validation: [InstructionEntry], test: [InstructionEntry]) {
        InstructionData.split(try InstructionData.bundled())
    }

    func assertTensor(_ t: Tensor, _ expected: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let e = jsonObject(expected)
        XCTAssertEqual(t.shape, jsonInts(e["shape"]), "\(what): shape", file: file, line: line)
        XCTAssertEqual(t.toInt64s().map(Int.init), jsonInts(e["values"]), "\(what): values", file: file, line: line)
    }

    func testFixturePromptsTokensAndLengths() throws {
        let s = try Self.section()
        let (train, validation, test) = try Self.splits()
        XCTAssertEqual([train.count, test.count, validation.count], [935, 110, 55])
        XCTAssertEqual((0..<3).map { formatInput(train[$0]) }, s["format_input_first3"] as? [String])
        XCTAssertEqual(formatInput(train[0]) + alpacaResponseHeader + train[0].output, s["full_text_0"] as? String)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let lengths = jsonObject(s["lengths"])
        for (name, part) in [("train", train), ("val", validation), ("test", test)] {
            let dataset = try InstructionDataset(part, tokenizer: tokenizer)
            XCTAssertEqual((0..<dataset.count).map { dataset[$0].tokenIds.count }, jsonInts(lengths[name]), "\(name) lengths")
            if name == "train" { XCTAssertEqual(dataset[0].tokenIds, jsonInts(s["encoded_0"])) }
        }
    }

    func testFixtureToyCollate() throws {
        let toy = jsonObject(try Self.section()["toy_collate"])
        let batch = (toy["batch"] as! [Any]).map(jsonInts)
        let results = jsonObject(toy["results"])
        for (key, allowed) in [("default", nil), ("allowed_max_length_1024", 1024), ("allowed_max_length_3", 3)] as [(String, Int?)] {
            let (x, y) = customCollate(batch, allowedMaxLength: allowed)
            assertTensor(x, jsonObject(results[key])["inputs"], "\(key) inputs")
            assertTensor(y, jsonObject(results[key])["targets"], "\(key) targets")
        }
    }

    /// A loader over `dataset` whose collate also records the dataset indices of each batch (the
    /// fixture's `dataset_indices`) and its non-ignored target count.
    final class Recorder {
        var indices: [[Int]] = []
        var targetCounts: [Int] = []
    }

    struct Indexed: Dataset {
        let base: InstructionDataset
        var count: Int { base.count }
        subscript(index: Int) -> (Int, InstructionSample) { (index, base[index]) }
    }

    static func recordingLoader(_ dataset: InstructionDataset, allowedMaxLength: Int?, shuffle: Bool,
                                recorder: Recorder, recording: @escaping () -> Bool = { true }) -> DataLoader<Indexed> {
        DataLoader(Indexed(base: dataset), batchSize: 8, shuffle: shuffle, dropLast: shuffle) { items in
            let batch = customCollate(items.map(\.1), allowedMaxLength: allowedMaxLength)
            guard recording() else { return batch }
            recorder.indices.append(items.map(\.0))
            recorder.targetCounts.append(batch.targets.toInt64s().filter { $0 != -100 }.count)
            return batch
        }
    }

    func testFixtureBookLoader() throws {
        let book = jsonObject(try Self.section()["book_loader"])
        let dataset = try InstructionDataset(try Self.splits().train, tokenizer: .gpt2())
        let recorder = Recorder()
        manualSeed(123)
        let loader = Self.recordingLoader(dataset, allowedMaxLength: 1024, shuffle: true, recorder: recorder)
        XCTAssertEqual(loader.count, book["num_batches"] as? Int)
        var lengths: [Int] = [], first: (Tensor, Tensor)? = nil
        for (x, y) in loader {
            lengths.append(x.shape[1])
            if first == nil { first = (x, y) }
        }
        XCTAssertEqual(lengths, jsonInts(book["seq_len_per_batch"]))
        let expected = jsonObject(book["first_batch"])
        XCTAssertEqual(recorder.indices[0], jsonInts(expected["dataset_indices"]))
        XCTAssertEqual(recorder.indices.prefix(3).flatMap { $0 }, jsonInts(jsonObject(book["rng"])["perm_first_batches"]))
        assertTensor(first!.0, expected["inputs"], "first batch inputs")
        assertTensor(first!.1, expected["targets"], "first batch targets")
        // The same 8 items collated with allowed_max_length=32: truncation after the -100 replacement.
        let (x32, y32) = customCollate(recorder.indices[0].map { dataset[$0] }, allowedMaxLength: 32)
        let v32 = jsonObject(book["first_batch_allowed_max_length_32"])
        assertTensor(x32, v32["inputs"], "allowed_max_length 32 inputs")
        assertTensor(y32, v32["targets"], "allowed_max_length 32 targets")
    }

    /// The tiny-model part: generation before and after, the initial losses, five training steps
    /// (`train_model_simple`'s step, run by the shared ``TrainingLoop``) and the losses and
    /// parameters after them.
    func testFixtureTinyModelFinetuning() throws {
        let s = try Self.section()
        let model = try GPTModel.fromPretrained(try SharedFolder.file("fixtures/hf-gpt2/model"), tieWeights: false)
        let tokenizer = try GPT2Tokenizer.gpt2()
        let (trainData, valData, _) = try Self.splits()
        manualSeed(123)
        let loaders = try InstructionLoaders(train: trainData, validation: valData, tokenizer: tokenizer, batchSize: 8,
                                             allowedMaxLength: 64)
        model.eval()

        func checkGeneration(_ key: String) throws {
            let expected = jsonObject(s[key])
            let inputText = formatInput(valData[0])
            let idx = try textToTokenIds(inputText, tokenizer: tokenizer)
            manualSeed(123)
            let out = generate(model: model, idx: idx, maxNewTokens: 35, contextSize: 64, eosId: 50256)
            let newIds = Array(out.toInt64s().map(Int.init).dropFirst(idx.shape[1]))
            XCTAssertEqual(newIds, jsonInts(expected["new_ids"]), "\(key): new ids")
            let text = try tokenIdsToText(out, tokenizer: tokenizer)
            XCTAssertEqual(InstructionResponses.extractResponse(generatedText: text, inputText: inputText),
                           expected["response_text"] as? String, "\(key): response")
            // The batched generation gives the same tokens (the prompt is longer than 64 - 35: the window slides).
            XCTAssertEqual(generateBatched(model: model, prompts: [idx.toInt64s().map(Int.init)], maxNewTokens: 35, contextSize: 64,
                                           eosId: 50256)[0], newIds, "\(key): batched")
        }
        try checkGeneration("generate_before")

        func losses() -> (Double, Double) {
            manualSeed(123)
            return noGrad { (calcLossLoader(loaders.train, model: model, numBatches: 5), calcLossLoader(loaders.validation, model: model, numBatches: 5)) }
        }
        let initial = jsonObject(s["initial_losses"])
        let (train0, val0) = losses()
        assertClose([train0, val0], [jsonDouble(initial["train_loss"]), jsonDouble(initial["val_loss"])], rtol: 1e-5, atol: 0, "initial losses")

        // Training: torch.manual_seed(123); AdamW(lr 5e-5, wd 0.1); model.train(); the first 5 batches.
        let training = jsonObject(s["training"])
        let recorder = Recorder()
        let dataset = loaders.train.dataset
        // Only the training passes record (the evaluation at step 0 iterates the same loader in eval mode).
        let trainLoader = Self.recordingLoader(dataset, allowedMaxLength: 64, shuffle: true, recorder: recorder) { model.isTraining }
        manualSeed(123)
        let optimizer = AdamW(model.parameters(), lr: 0.00005, weightDecay: 0.1)
        let loop = TrainingLoop(model: model, optimizer: optimizer, evalFreq: 1000, evalIter: 1)
        var steps: [(shape: [Int], loss: Double, seen: Int)] = []
        var firstBatch: Tensor? = nil
        loop.trainEpoch(0, trainLoader: trainLoader, valLoader: loaders.validation, log: { _ in },
                        shouldStop: { steps.count == 5 }) { step in
            steps.append(([8, step.seen / 8], step.loss.item(), loop.seen))
        }
        // The recorded first batch is re-collated to compare its tensors.
        firstBatch = customCollate(recorder.indices[0].map { dataset[$0] }, allowedMaxLength: 64).inputs
        assertTensor(firstBatch!, jsonObject(training["first_batch"])["inputs"], "training first batch")
        let expectedSteps = (training["steps"] as! [Any]).map(jsonObject)
        XCTAssertEqual(steps.count, expectedSteps.count)
        for (i, e) in expectedSteps.enumerated() where i < steps.count {
            XCTAssertEqual(recorder.indices[i], jsonInts(e["dataset_indices"]), "step \(i): dataset indices")
            XCTAssertEqual(steps[i].shape, jsonInts(e["shape"]), "step \(i): shape")
            XCTAssertEqual(recorder.targetCounts[i], e["n_target_tokens"] as? Int, "step \(i): target tokens")
            XCTAssertEqual(steps[i].seen, e["tokens_seen"] as? Int, "step \(i): tokens seen")
            assertClose([steps[i].loss], [jsonDouble(e["loss"])], rtol: 1e-5, atol: 0, "step \(i): loss")
        }

        model.eval()
        let after = jsonObject(training["losses_after"])
        let (train1, val1) = losses()
        assertClose([train1, val1], [jsonDouble(after["train_loss"]), jsonDouble(after["val_loss"])], rtol: 1e-5, atol: 0, "losses after")

        // Parameters: the first four values of every tensor (tok_emb and out_head now differ). The key
        // biases are the exception: softmax ignores a shift shared by every key, so their gradient is
        // mathematically 0 and what float32 leaves of it is rounding noise, which Adam's normalisation turns
        // into steps of ±lr — in PyTorch as in Ember, but not the same noise. They may differ by at most
        // 5 steps of 2·lr (plus weight decay).
        let params = jsonObject(training["params_after"])
        let named = model.namedParameters()
        XCTAssertEqual(Set(named.map(\.0)), Set(params.keys))
        for (name, tensor) in named {
            let e = jsonObject(params[name])
            XCTAssertEqual(tensor.shape, jsonInts(e["shape"]), "\(name): shape")
            let noise = name.hasSuffix("att.W_key.bias")
            assertClose(Array(tensor.toDoubles().prefix(4)), jsonDoubles(e["first4"]), rtol: noise ? 0 : 1e-4,
                        atol: noise ? 5 * 2 * 0.00005 : 2e-6, "\(name): first4")
        }
        XCTAssertFalse(model.tok_emb.weight.equal(model.out_head.weight))

        model.eval()
        try checkGeneration("generate_after")
    }
}
