import EmberCore
import EmberNN
import XCTest

/// A dataset of the numbers 0..<n as 0-dim int64 tensors (PyTorch's `DataLoader(range(n))`).
struct RangeDataset: Dataset {
    let count: Int
    subscript(index: Int) -> (input: Tensor, target: Tensor) {
        (Tensor(array: [Int64(index)], shape: []), Tensor(array: [Int64(index)], shape: []))
    }
}

/// A dataset of token-id lists of unequal lengths (the book's chapter 7.3 toy batch).
struct TokenListDataset: Dataset {
    let lists: [[Int]]
    var count: Int { lists.count }
    subscript(index: Int) -> [Int] { lists[index] }
}

/// `torch.utils.data.DataLoader`: PyTorch's sampler draws (rng fixture SEQ6) and `collate_fn`.
final class DataLoaderTests: XCTestCase {
    /// rng fixture SEQ6 (docs/torch-rng.md §9, Tests/EmberCoreTests/Fixtures/rng/rng_vectors.json, seed 123):
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

    /// The book's chapter 7.3 `custom_collate_fn` (pad with 50256, targets shifted by one, padding
    /// after the first end-of-text replaced by -100) as a `collate`: on `inputs_1 = [0, 1, 2, 3, 4]`,
    /// `inputs_2 = [5, 6]`, `inputs_3 = [7, 8, 9]` the book prints
    /// `tensor([[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256, 50256]])` and
    /// `tensor([[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100], [8, 9, 50256, -100, -100]])`.
    func testCollateFunctionPadsUnequalLengthsAsChapter7() {
        func customCollate(_ batch: [[Int]]) -> (inputs: Tensor, targets: Tensor) {
            let padTokenId = 50256, ignoreIndex = -100
            let batchMaxLength = batch.map { $0.count + 1 }.max() ?? 0
            var inputs: [Int64] = [], targets: [Int64] = []
            for item in batch {
                let padded = item + [padTokenId] + Array(repeating: padTokenId, count: batchMaxLength - item.count - 1)
                var t = Array(padded.dropFirst())
                // Every padding token but the first becomes ignore_index.
                if let first = t.firstIndex(of: padTokenId) {
                    for i in (first + 1)..<t.count where t[i] == padTokenId { t[i] = ignoreIndex }
                }
                inputs += padded.dropLast().map(Int64.init)
                targets += t.map(Int64.init)
            }
            let width = batchMaxLength - 1
            return (Tensor(array: inputs, shape: [batch.count, width]), Tensor(array: targets, shape: [batch.count, width]))
        }
        let data = TokenListDataset(lists: [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
        manualSeed(123)
        let batches = Array(DataLoader(data, batchSize: 3, collate: customCollate))
        XCTAssertEqual(batches.count, 1)
        XCTAssertEqual(batches[0].inputs.shape, [3, 5])
        XCTAssertEqual(batches[0].inputs.toInt64s(), [0, 1, 2, 3, 4, 5, 6, 50256, 50256, 50256, 7, 8, 9, 50256, 50256])
        XCTAssertEqual(batches[0].targets.toInt64s(), [1, 2, 3, 4, 50256, 6, 50256, -100, -100, -100, 8, 9, 50256, -100, -100])
        // A collate function draws nothing: the sampler's draws are the default collate's (SEQ6's order).
        manualSeed(123)
        let viaCollate = DataLoader(RangeDataset(count: 100), batchSize: 7, shuffle: true) { samples in
            defaultCollate(samples)
        }
        let orderCollate = viaCollate.flatMap { $0.inputs.toInt64s() }
        manualSeed(123)
        let orderDefault = DataLoader(RangeDataset(count: 100), batchSize: 7, shuffle: true).flatMap { $0.inputs.toInt64s() }
        XCTAssertEqual(orderCollate, orderDefault)
        XCTAssertEqual(Array(orderCollate.prefix(5)), [58, 20, 52, 99, 92])
    }

    /// ``BatchLoader`` (a `collate_fn` returning any type, as the DPO notebook's dict) makes
    /// ``DataLoader``'s draws: SEQ6's first epoch, batch sizes with `dropLast`, and the same generator
    /// state afterwards.
    func testBatchLoaderDrawsAsDataLoader() {
        manualSeed(123)
        let loader = BatchLoader(TokenListDataset(lists: (0..<100).map { [$0] }), batchSize: 7, shuffle: true, dropLast: true) { $0.map { $0[0] } }
        XCTAssertEqual(loader.count, 14)
        let batches = Array(loader)
        XCTAssertEqual(batches.map(\.count), Array(repeating: 7, count: 14))
        XCTAssertEqual(Array(batches.joined().prefix(10)), [58, 20, 52, 99, 92, 12, 91, 24, 39, 89])
        let after = Tensor.rand([1]).toFloats()
        manualSeed(123)
        _ = Array(DataLoader(RangeDataset(count: 100), batchSize: 7, shuffle: true))
        XCTAssertEqual(Tensor.rand([1]).toFloats(), after)
    }
}
