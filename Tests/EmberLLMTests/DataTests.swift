import EmberCore
import EmberLLM
import EmberNN
import Foundation
import XCTest

/// The book's datasets and loaders (chapters 2.6 and 5.1): GPTDatasetV1 windows and batches, the
/// chapter-5 split (DataLoader itself: EmberNNTests/DataLoaderTests).
final class DataTests: XCTestCase {
    func verdictIds() throws -> [Int] { try GPTFixture.verdictIds() }

    /// Chapter 2.6: `create_dataloader_v1(raw_text, batch_size=1, max_length=4, stride=1,
    /// shuffle=False)` yields `[[40, 367, 2885, 1464]]` → `[[367, 2885, 1464, 1807]]`, then the
    /// window one token later.
    func testBookFirstBatchesStrideOne() throws {
        let dataset = GPTDatasetV1(tokenIds: try verdictIds(), maxLength: 4, stride: 1)
        var it = DataLoader(dataset, batchSize: 1, shuffle: false).makeIterator()
        let first = try XCTUnwrap(it.next())
        XCTAssertEqual(first.inputs.shape, [1, 4])
        XCTAssertEqual(first.inputs.dtype, .int64)
        XCTAssertEqual(first.inputs.toInt64s(), [40, 367, 2885, 1464])
        XCTAssertEqual(first.targets.toInt64s(), [367, 2885, 1464, 1807])
        let second = try XCTUnwrap(it.next())
        XCTAssertEqual(second.inputs.toInt64s(), [367, 2885, 1464, 1807])
        XCTAssertEqual(second.targets.toInt64s(), [2885, 1464, 1807, 3619])
    }

    /// Fixture gpt `training`: 5,145 ids, max_length 64, stride 64 → 80 windows starting at
    /// `range(0, 5145 - 64, 64)`; each target is its input shifted by one token.
    func testFixtureWindows() throws {
        let ids = try verdictIds()
        XCTAssertEqual(ids.count, 5145)
        let training = jsonObject(try GPTFixture.expected()["training"])
        let dataset = GPTDatasetV1(tokenIds: ids, maxLength: 64, stride: 64)
        XCTAssertEqual(dataset.count, training["num_windows"] as? Int)
        let batches = training["batches"] as? [[String: Any]] ?? []
        for (k, batch) in batches.enumerated() {
            let starts = jsonInts(batch["window_starts"])
            XCTAssertEqual(starts, [dataset.windowStart(2 * k), dataset.windowStart(2 * k + 1)])
        }
        let (x, y) = dataset[79]
        XCTAssertEqual(x.toInt64s(), ids[5056..<5120].map(Int64.init))
        XCTAssertEqual(y.toInt64s(), ids[5057..<5121].map(Int64.init))
        // Too few ids for one window: empty, as the book's range() loop.
        XCTAssertEqual(GPTDatasetV1(tokenIds: [1, 2, 3, 4], maxLength: 4, stride: 1).count, 0)
    }

    /// Chapter 5.1: "The Verdict" (20,479 characters) splits at int(0.9 · 20479) = 18,431; with
    /// context 256 and stride 256 the train loader (batch 2, drop_last) has 9 batches = 4,608
    /// tokens and the validation loader 1 batch = 512 tokens (the book's printed counts).
    func testChapter5SplitAndLoaderSizes() throws {
        let text = try BundledResource.theVerdict()
        XCTAssertEqual(text.unicodeScalars.count, 20479)
        let (train, val) = trainValidationSplit(text)
        XCTAssertEqual(train.unicodeScalars.count, 18431)
        XCTAssertEqual(train + val, text)
        let tokenizer = try GPT2Tokenizer.gpt2()
        manualSeed(123)
        let trainLoader = try createDataloaderV1(train, tokenizer: tokenizer, batchSize: 2, maxLength: 256, stride: 256, shuffle: true, dropLast: true)
        let valLoader = try createDataloaderV1(val, tokenizer: tokenizer, batchSize: 2, maxLength: 256, stride: 256, shuffle: false, dropLast: false)
        XCTAssertEqual(trainLoader.map { $0.inputs.shape }, Array(repeating: [2, 256], count: 9))
        XCTAssertEqual(valLoader.map { $0.targets.shape }, [[2, 256]])
        XCTAssertEqual(trainLoader.reduce(0) { $0 + $1.inputs.numel }, 4608)
        XCTAssertEqual(valLoader.reduce(0) { $0 + $1.inputs.numel }, 512)
        // Subset (the book's one-window test loaders).
        let one = Subset(trainLoader.dataset, indices: [0])
        XCTAssertEqual(DataLoader(one, batchSize: 1).map { $0.inputs.shape }, [[1, 256]])
    }
}
