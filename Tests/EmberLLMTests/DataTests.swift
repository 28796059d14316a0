import EmberCore
import EmberLLM
import Foundation
import XCTest

/// A dataset of the numbers 0..<n as 0-dim int64 tensors (PyTorch's `DataLoader(range(n))`).
struct RangeDataset: Dataset {
    let count: Int
    subscript(index: Int) -> (input: Tensor, target: Tensor) {
        (Tensor(array: [Int64(index)], shape: []), Tensor(array: [Int64(index)], shape: []))
    }
}

/// Datasets and loaders (chapters 2.6 and 5.1): GPTDatasetV1 windows, DataLoader batching and
/// PyTorch's shuffle draws (rng fixture SEQ6), the chapter-5 split.
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

    /// rng fixture SEQ6 (spec/torch-rng.md §9, `fixtures/rng/rng_vectors.json`, seed 123):
    /// `DataLoader(range(100), batch_size=7, shuffle=True)`, two epochs, then `rand(2)`.
    /// 4 global draws per epoch; batches of 7, the last one of 2.
    func testSEQ6ShuffleMatchesPyTorch() {
        manualSeed(123)
        let loader = DataLoader(RangeDataset(count: 100), batchSize: 7, shuffle: true)
        XCTAssertEqual(loader.count, 15)
        var epochs: [[Int64]] = []
        for _ in 0..<2 {
            var order: [Int64] = []
            var sizes: [Int] = []
            for (x, y) in loader {
                XCTAssertEqual(x.toInt64s(), y.toInt64s())
                order += x.toInt64s()
                sizes.append(x.shape[0])
            }
            XCTAssertEqual(sizes, Array(repeating: 7, count: 14) + [2])
            epochs.append(order)
        }
        XCTAssertEqual(epochs[0], [58, 20, 52, 99, 92, 12, 91, 24, 39, 89, 66, 59, 95, 23, 70, 29, 62, 21, 94, 42, 98, 7, 6, 93, 78, 67, 28, 36, 80, 10, 17, 33, 27, 22, 72, 32, 87, 5, 15, 40, 81, 41, 26, 18, 86, 75, 57, 51, 49, 68, 0, 30, 50, 4, 37, 44, 85, 96, 79, 43, 3, 84, 88, 71, 13, 38, 73, 97, 48, 83, 69, 14, 34, 54, 2, 82, 61, 60, 16, 63, 35, 11, 45, 19, 90, 56, 31, 47, 8, 55, 76, 1, 74, 65, 46, 25, 53, 77, 9, 64])
        XCTAssertEqual(epochs[1], [85, 90, 52, 50, 26, 16, 98, 41, 7, 58, 14, 80, 11, 38, 8, 21, 87, 66, 89, 44, 83, 96, 65, 54, 99, 34, 91, 35, 3, 69, 4, 5, 32, 36, 75, 79, 30, 92, 55, 82, 63, 39, 88, 67, 64, 43, 49, 10, 12, 37, 13, 94, 42, 62, 45, 84, 71, 33, 56, 51, 40, 18, 6, 25, 47, 48, 81, 95, 28, 59, 68, 70, 29, 77, 24, 20, 93, 15, 2, 1, 74, 19, 97, 60, 46, 61, 78, 9, 72, 31, 86, 23, 73, 0, 17, 27, 76, 53, 22, 57])
        XCTAssertEqual(Tensor.rand([2]).toFloats(), [0.18405646, 0.72644675])
    }

    /// PyTorch draws the iterator's base seed (2 draws) even without shuffling; dropLast drops
    /// the short final batch (`len(loader)` = 100 // 7 = 14).
    func testUnshuffledLoaderStillDrawsBaseSeedAndDropLast() {
        let loader = DataLoader(RangeDataset(count: 100), batchSize: 7, shuffle: false, dropLast: true)
        XCTAssertEqual(loader.count, 14)
        manualSeed(123)
        let batches = Array(loader)
        XCTAssertEqual(batches.count, 14)
        XCTAssertEqual(batches.flatMap { $0.inputs.toInt64s() }, (0..<98).map(Int64.init))
        let afterLoader = Tensor.rand([1]).toFloats()
        manualSeed(123)
        _ = Generator.default.random64()          // the base seed: one 64-bit draw
        XCTAssertEqual(Tensor.rand([1]).toFloats(), afterLoader)
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
