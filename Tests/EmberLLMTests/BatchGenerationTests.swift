import EmberCore
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// ``generateBatched(model:prompts:maxNewTokens:contextSize:eosId:batchSize:onToken:)``: several
/// prompts of different lengths at once give, per prompt, exactly the tokens of the one-prompt
/// greedy loop (with and without the KV cache), each stopping at its own end-of-sequence id.
final class BatchGenerationTests: XCTestCase {
    func model(contextLength: Int, vocabSize: Int = 100) -> GPTModel {
        manualSeed(123)
        return GPTModel(GPTFixture.config.with(vocabSize: vocabSize, contextLength: contextLength, dropRate: 0)).eval()
    }

    /// The one-prompt loop: new ids after `prompt`.
    func sequential(_ model: GPTModel, _ prompt: [Int], maxNewTokens: Int, contextSize: Int, eosId: Int?, useCache: Bool) -> [Int] {
        let idx = Tensor(array: prompt.map(Int64.init), shape: [1, prompt.count])
        let out = generate(model: model, idx: idx, maxNewTokens: maxNewTokens, contextSize: contextSize, eosId: eosId, useCache: useCache)
        return Array(out.toInt64s().map(Int.init).dropFirst(prompt.count))
    }

    func prompts(count: Int, vocabSize: Int, lengths: [Int]) -> [[Int]] {
        // Deterministic pseudo-random ids (a linear congruential sequence).
        var state: UInt64 = 12345
        return (0..<count).map { i in
            (0..<lengths[i % lengths.count]).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Int(state >> 33) % vocabSize
            }
        }
    }

    func testRaggedPromptsEqualOneAtATimeGreedyWithAndWithoutCache() throws {
        let m = model(contextLength: 48)
        let ps = prompts(count: 7, vocabSize: 100, lengths: [1, 9, 4, 17, 2, 12, 6])
        let batched = generateBatched(model: m, prompts: ps, maxNewTokens: 20, batchSize: 4)
        XCTAssertEqual(batched.count, ps.count)
        for (i, p) in ps.enumerated() {
            XCTAssertEqual(batched[i], sequential(m, p, maxNewTokens: 20, contextSize: 48, eosId: nil, useCache: true), "prompt \(i) (cache)")
            XCTAssertEqual(batched[i], sequential(m, p, maxNewTokens: 20, contextSize: 48, eosId: nil, useCache: false), "prompt \(i) (no cache)")
        }
        // All at once, one at a time, and in another grouping: the same.
        XCTAssertEqual(generateBatched(model: m, prompts: ps, maxNewTokens: 20, batchSize: 7), batched)
        XCTAssertEqual(generateBatched(model: m, prompts: ps, maxNewTokens: 20, batchSize: 1), batched)
    }

    func testEachRowStopsAtItsOwnEOS() throws {
        let m = model(contextLength: 48)
        let ps = prompts(count: 6, vocabSize: 100, lengths: [3, 8, 5, 11, 1, 7])
        let free = generateBatched(model: m, prompts: ps, maxNewTokens: 15, batchSize: 6)
        // An id that some continuations produce part-way and others not at all.
        var counts: [Int: Int] = [:]
        for row in free { for id in Set(row.dropFirst(2)) { counts[id, default: 0] += 1 } }
        let eos = try XCTUnwrap(counts.filter { $0.value < ps.count }.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key)
        var streamed = [[Int]](repeating: [], count: ps.count)
        let stopped = generateBatched(model: m, prompts: ps, maxNewTokens: 15, eosId: eos, batchSize: 6) { streamed[$0].append($1) }
        XCTAssertEqual(streamed, stopped)
        var lengths = Set<Int>()
        for (i, p) in ps.enumerated() {
            let expected = sequential(m, p, maxNewTokens: 15, contextSize: 48, eosId: eos, useCache: true)
            XCTAssertEqual(stopped[i], expected, "prompt \(i), eos \(eos)")
            XCTAssertFalse(stopped[i].contains(eos))
            XCTAssertEqual(stopped[i], Array(free[i].prefix { $0 != eos }), "prompt \(i): the free run cut at eos")
            lengths.insert(stopped[i].count)
        }
        XCTAssertGreaterThan(lengths.count, 1, "the rows stopped at different steps")
    }

    /// Prompts plus new tokens longer than the context: each row's window slides as the one-prompt
    /// loop's crop (`idx[:, -context_size:]`), also for prompts longer than the context.
    func testWindowsSlidePastTheContextLength() throws {
        let m = model(contextLength: 12)
        let ps = prompts(count: 4, vocabSize: 100, lengths: [3, 10, 12, 15])
        let batched = generateBatched(model: m, prompts: ps, maxNewTokens: 9, contextSize: 12, batchSize: 4)
        for (i, p) in ps.enumerated() {
            XCTAssertEqual(batched[i], sequential(m, p, maxNewTokens: 9, contextSize: 12, eosId: nil, useCache: false), "prompt \(i)")
        }
        // A smaller window than the model's context.
        let small = generateBatched(model: m, prompts: ps, maxNewTokens: 6, contextSize: 5, batchSize: 4)
        for (i, p) in ps.enumerated() {
            XCTAssertEqual(small[i], sequential(m, p, maxNewTokens: 6, contextSize: 5, eosId: nil, useCache: false), "prompt \(i), window 5")
        }
    }

    func testEdgeCases() throws {
        let m = model(contextLength: 16)
        XCTAssertEqual(generateBatched(model: m, prompts: [], maxNewTokens: 5), [])
        XCTAssertEqual(generateBatched(model: m, prompts: [[1, 2]], maxNewTokens: 0), [[]])
        XCTAssertThrowsError(try withErrorCapture { _ = generateBatched(model: m, prompts: [[1], []], maxNewTokens: 3) }) { error in
            XCTAssertTrue("\(error)".contains("prompt 1 is empty"), "\(error)")
        }
        // The model's own KV cache is left alone.
        XCTAssertEqual(m.currentPos, 0)
    }
}
