import EmberCore
import EmberNN
import XCTest
@testable import EmberLLM

/// Continuous batching at the model level: sequences that join a running batch at different steps
/// and decode together must produce the tokens each produces alone through the book's KV cache
/// (`generate(model:…, useCache: true)`, greedy), and logits equal to the uncached forward.
final class RaggedKVCacheTests: XCTestCase {
    static func model() -> GPTModel {
        manualSeed(123)
        let model = GPTModel(GPTConfig(vocabSize: 97, contextLength: 24, embDim: 32, nHeads: 4, nLayers: 2, dropRate: 0, qkvBias: true))
        model.eval()
        return model
    }

    static let prompts: [[Int]] = [[5, 17, 3], [42], [7, 7, 8, 9, 60, 1, 2], [11, 96]]

    /// Greedy tokens of `prompt` alone, through the book's KV cache.
    func alone(_ model: GPTModel, _ prompt: [Int], _ n: Int) -> [Int] {
        let idx = Tensor(array: prompt.map(Int64.init), shape: [1, prompt.count])
        let out = generate(model: model, idx: idx, maxNewTokens: n, contextSize: 24, useCache: true)
        return Array(out.flatten().toInt64s().map(Int.init).dropFirst(prompt.count))
    }

    func testStaggeredJoinsMatchEachSequenceAlone() throws {
        let model = Self.model()
        let steps = 10
        let expected = Self.prompts.map { alone(model, $0, steps) }
        let cache = RaggedKVCache(model: model, slots: 3)
        // Sequence i joins at step i (slot reuse: sequence 3 takes sequence 1's slot after it leaves).
        var generated: [Int: [Int]] = [:]
        var running: [(seq: Int, slot: Int)] = []
        var nextSeq = 0
        var freeSlots = [2, 1, 0]
        var maxRows = 0
        for _ in 0..<(steps * Self.prompts.count + 4) {
            if !running.isEmpty {
                let logits = try model.decodeStep(running.map { generated[$0.seq]!.last! }, slots: running.map(\.slot), cache: cache)
                maxRows = max(maxRows, running.count)
                let next = logits.argmax(-1).toInt64s().map(Int.init)
                for (row, token) in zip(running, next) { generated[row.seq]!.append(token) }
                running.removeAll { row in
                    guard generated[row.seq]!.count == steps else { return false }
                    cache.release(row.slot); freeSlots.append(row.slot)
                    return true
                }
            }
            if nextSeq < Self.prompts.count, let slot = freeSlots.popLast() {
                let logits = try model.prefill(Self.prompts[nextSeq], slot: slot, cache: cache)            // (1, vocab)
                generated[nextSeq] = [Int(logits.argmax(-1).toInt64s()[0])]
                running.append((nextSeq, slot))
                nextSeq += 1
            }
            if running.isEmpty && nextSeq == Self.prompts.count { break }
        }
        XCTAssertEqual(maxRows, 3, "the batch never held 3 rows at once")
        for (i, tokens) in expected.enumerated() {
            XCTAssertEqual(generated[i], tokens, "sequence \(i) (prompt \(Self.prompts[i])) differs from its batch-of-one run")
        }
    }

    func testDecodeLogitsEqualTheUncachedForward() throws {
        let model = Self.model()
        let cache = RaggedKVCache(model: model, slots: 2)
        let (a, b) = (Self.prompts[0], Self.prompts[2])
        _ = try model.prefill(a, slot: 1, cache: cache)
        _ = try model.prefill(b, slot: 0, cache: cache)
        let logits = try model.decodeStep([9, 33], slots: [1, 0], cache: cache)                                // (2, vocab)
        for (row, seq) in [(0, a + [9]), (1, b + [33])] {
            let full = noGrad { model(Tensor(array: seq.map(Int64.init), shape: [1, seq.count])) }.select(1, seq.count - 1)   // (1, vocab)
            let diff = InferenceDType.maxAbsDifference(logits.narrow(0, start: row, length: 1), full)
            XCTAssertLessThan(diff, 1e-5, "row \(row): max |logit difference| \(diff) against model(ids)")
        }
        XCTAssertEqual(cache.length(1), a.count + 1)
        XCTAssertEqual(cache.length(0), b.count + 1)
    }

    func testRefusesWhatDoesNotFit() throws {
        let model = Self.model()
        let cache = RaggedKVCache(model: model, slots: 2)
        XCTAssertThrowsError(try model.prefill(Array(repeating: 1, count: 25), slot: 0, cache: cache)) { error in
            XCTAssertEqual(error as? RaggedBatchError, .contextFull(slot: 0, length: 0, newTokens: 25, contextLength: 24))
        }
        XCTAssertEqual(cache.length(0), 0, "a refused prefill must not change the cache")
        XCTAssertThrowsError(try model.decodeStep([1, 2], slots: [0, 0], cache: cache))
        XCTAssertThrowsError(try model.decodeStep([1], slots: [2], cache: cache))
        XCTAssertThrowsError(try model.prefill([], slot: 0, cache: cache))
        _ = try model.prefill(Array(repeating: 1, count: 24), slot: 1, cache: cache)
        XCTAssertThrowsError(try model.decodeStep([3], slots: [1], cache: cache)) { error in
            XCTAssertEqual(error as? RaggedBatchError, .contextFull(slot: 1, length: 24, newTokens: 1, contextLength: 24))
        }
    }
}
