import EmberCore
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// The DPO notebook's data pipeline (ch. 7 bonus, `dpo-from-scratch.ipynb` §2) against the `finetune`
/// fixture's `dpo` section (the notebook's own `PreferenceDataset` and `custom_collate_fn` run by
/// PyTorch 2.15 on the bundled `instruction-data-with-preference.json`).
final class PreferenceDataTests: XCTestCase {
    /// The fixture's `dpo` section (shared folder; skips when absent).
    static func dpoSection() throws -> [String: Any] {
        let url = try SharedFolder.file("fixtures/finetune/expected.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return jsonObject(root["dpo"])
    }

    /// A fixture tensor's flat values as int64 / bool, with its shape.
    static func ints(_ any: Any?) -> (shape: [Int], values: [Int64]) {
        let t = jsonObject(any)
        return (jsonInts(t["shape"]), jsonInts(t["values"]).map(Int64.init))
    }

    static func bools(_ any: Any?) -> (shape: [Int], values: [Bool]) {
        let t = jsonObject(any)
        return (jsonInts(t["shape"]), (t["values"] as? [Any] ?? []).map { ($0 as? Bool) ?? ($0 as? NSNumber)?.boolValue ?? false })
    }

    /// Asserts a collated batch equals the fixture's, key by key.
    static func assertBatch(_ batch: PreferenceBatch, _ expected: [String: Any], _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(batch.prompt, (expected["prompt"] as? [Any] ?? []).map(jsonInts), "\(label): prompt", file: file, line: line)
        for (name, tensor) in [("chosen", batch.chosen), ("rejected", batch.rejected)] {
            let e = ints(expected[name])
            XCTAssertEqual(tensor.dtype, .int64, "\(label): \(name) dtype", file: file, line: line)
            XCTAssertEqual(tensor.shape, e.shape, "\(label): \(name) shape", file: file, line: line)
            XCTAssertEqual(tensor.toInt64s(), e.values, "\(label): \(name) ids", file: file, line: line)
        }
        for (name, tensor) in [("chosen_mask", batch.chosenMask), ("rejected_mask", batch.rejectedMask)] {
            let e = bools(expected[name])
            XCTAssertEqual(tensor.dtype, .bool, "\(label): \(name) dtype", file: file, line: line)
            XCTAssertEqual(tensor.shape, e.shape, "\(label): \(name) shape", file: file, line: line)
            XCTAssertEqual(tensor.toArray(Bool.self), e.values, "\(label): \(name)", file: file, line: line)
        }
    }

    /// `example_batch`: `data[:2]` collated three ways — the notebook's (`mask_prompt_tokens=True,
    /// allowed_max_length=1024`), without prompt masking, and cut to 64 tokens.
    func testExampleBatchAllThreeCollateVariants() throws {
        let section = try Self.dpoSection()
        let data = try InstructionData.bundledPreferences()
        XCTAssertEqual(data.count, section["entries"] as? Int)
        let dataset = try PreferenceDataset(Array(data.prefix(2)), tokenizer: .gpt2())
        let batches = jsonObject(jsonObject(section["example_batch"])["batches"])
        XCTAssertEqual(Set(batches.keys), ["book", "no_prompt_mask", "allowed_max_length_ctx"])
        for (name, value) in batches {
            let kwargs = jsonObject(jsonObject(value)["collate_kwargs"])
            let loader = PreferenceLoader(preferences: dataset, batchSize: 2, allowedMaxLength: kwargs["allowed_max_length"] as? Int,
                                          maskPromptTokens: kwargs["mask_prompt_tokens"] as! Bool)
            var batches = Array(loader)
            XCTAssertEqual(batches.count, 1)
            Self.assertBatch(batches.removeFirst(), jsonObject(jsonObject(value)["batch"]), "example_batch \(name)")
        }
    }

    /// Hand-checked rules: common length = longest + 1, padding 50256, masks false on padding and on
    /// the first `len(prompt) + 2` positions (clamped), then the cut.
    func testCollateRulesOnAToyBatch() {
        let samples = [PreferenceSample(prompt: [1, 2], chosen: [1, 2, 3, 4, 5], rejected: [1, 2, 6]),
                       PreferenceSample(prompt: [7, 8, 9, 10], chosen: [7, 8, 9], rejected: [7, 8, 9, 10, 11])]
        let b = preferenceCollate(samples)
        XCTAssertEqual(b.chosen.shape, [2, 6])
        XCTAssertEqual(b.chosen.toInt64s(), [1, 2, 3, 4, 5, 50256, 7, 8, 9, 50256, 50256, 50256])
        XCTAssertEqual(b.rejected.toInt64s(), [1, 2, 6, 50256, 50256, 50256, 7, 8, 9, 10, 11, 50256])
        XCTAssertEqual(b.chosenMask.toArray(Bool.self), [false, false, false, false, true, false] + [Bool](repeating: false, count: 6))
        XCTAssertEqual(b.rejectedMask.toArray(Bool.self), [false, false, false, false, false, false] + [false, false, false, false, false, false])
        let unmasked = preferenceCollate(samples, allowedMaxLength: 4, maskPromptTokens: false)
        XCTAssertEqual(unmasked.chosen.shape, [2, 4])
        XCTAssertEqual(unmasked.chosenMask.toArray(Bool.self), [true, true, true, true, true, true, true, false])
        XCTAssertEqual(unmasked.rejected.toInt64s(), [1, 2, 6, 50256, 7, 8, 9, 10])
    }

    /// `book_loader`: `torch.manual_seed(123)`, the notebook's training loader over the 935 training
    /// entries (batch 8, shuffled, last batch dropped): 116 batches, every batch's length, the first
    /// batch in full — the shuffle is PyTorch's draw for draw.
    func testBookLoaderBatchLengthsAndFirstBatch() throws {
        let section = jsonObject(try Self.dpoSection()["book_loader"])
        let (train, validation, test) = InstructionData.split(try InstructionData.bundledPreferences())
        XCTAssertEqual([train.count, validation.count, test.count], [935, 55, 110])
        let dataset = try PreferenceDataset(train, tokenizer: .gpt2())
        manualSeed(123)
        let loader = PreferenceLoader(preferences: dataset, batchSize: 8, shuffle: true, dropLast: true)
        XCTAssertEqual(loader.count, section["num_batches"] as? Int)
        let batches = Array(loader)
        XCTAssertEqual(batches.map { $0.chosen.shape[1] }, jsonInts(section["seq_len_per_batch"]))
        XCTAssertEqual(batches.map { $0.rejected.shape[1] }, jsonInts(section["seq_len_per_batch"]))
        let first = jsonObject(section["first_batch"])
        XCTAssertEqual(batches[0].prompt, jsonInts(first["dataset_indices"]).map { dataset[$0].prompt })
        Self.assertBatch(batches[0], first, "book_loader first batch")
    }
}
