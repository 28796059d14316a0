import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import Foundation
import XCTest

/// The KV cache of the book's chapter-4 bonus ("KV cache", `gpt_with_kv_cache.py`): bug case B20
/// (docs/cases.md), case C35 (docs/cases.md: the book's tests expect the same ids from the KV-cache
/// model), and the rule that decoding through the cache gives the uncached tokens.
final class KVCacheTests: XCTestCase {
    /// A small seeded model: vocab 50257, emb 64, 4 heads, 2 layers, no dropout.
    func tinyModel(contextLength: Int = 64, vocabSize: Int = 50257) -> GPTModel {
        manualSeed(123)
        return GPTModel(GPTFixture.config.with(vocabSize: vocabSize, contextLength: contextLength, dropRate: 0)).eval()
    }

    /// B20: context_length 10, 5 prompt tokens, 10 new tokens. The cached loop must slide its
    /// window (positions given to `pos_emb` never pass 9; the model raises a ValueError if they
    /// would, see the next test), return 15 tokens, give the same tokens after a reset and on a
    /// second call, and equal the uncached loop, whose crop it reproduces.
    func testB20SlidingWindowNeverPassesContextLength() throws {
        let model = tinyModel(contextLength: 10, vocabSize: 100)
        let prompt = Tensor([[3, 14, 15, 92, 65]])
        var first = Tensor([[0]]), second = Tensor([[0]]), third = Tensor([[0]])
        XCTAssertNoThrow(try withErrorCapture {
            first = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 10)
        }, "B20: the cached loop fed a position past context_length - 1")
        XCTAssertEqual(first.shape, [1, 15])
        XCTAssertEqual(model.currentPos, 10, "B20: after sliding, the window holds exactly context_length positions (0...9)")
        XCTAssertLessThanOrEqual(model.trf_blocks.children().compactMap { ($0 as? TransformerBlock)?.att.ptrCurrentPos }.max() ?? 0, 10)
        model.resetKVCache()
        XCTAssertNoThrow(try withErrorCapture { second = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 10) })
        XCTAssertNoThrow(try withErrorCapture { third = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 10) })
        XCTAssertEqual(second.toInt64s(), first.toInt64s(), "B20: tokens after resetKVCache()")
        XCTAssertEqual(third.toInt64s(), first.toInt64s(), "B20: a second call without an explicit reset")
        let uncached = generateTextSimple(model: model, idx: prompt, maxNewTokens: 10, contextSize: 10)
        XCTAssertEqual(first.toInt64s(), uncached.toInt64s(), "B20: cached vs uncached tokens past the window")
    }

    /// B20's guard: a cached forward that would put a token at position `context_length` is a
    /// ValueError naming context_length (never an out-of-range `pos_emb` read), and changes nothing.
    func testCachedForwardPastContextIsAClearError() {
        let model = tinyModel(contextLength: 10, vocabSize: 100)
        _ = noGrad { model(Tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]), useCache: true) }
        XCTAssertEqual(model.currentPos, 10)
        XCTAssertThrowsError(try withErrorCapture { _ = noGrad { model(Tensor([[11]]), useCache: true) } }) { error in
            XCTAssertTrue("\(error)".contains("context_length is 10"), "\(error)")
        }
        XCTAssertEqual(model.currentPos, 10)
        let attention = (model.trf_blocks[0] as? TransformerBlock)?.att
        XCTAssertThrowsError(try withErrorCapture { _ = noGrad { attention?(Tensor.zeros([1, 1, 64]), useCache: true) } }) { error in
            XCTAssertTrue("\(error)".contains("context_length=10"), "\(error)")
        }
        XCTAssertEqual(attention?.ptrCurrentPos, 10)
    }

    /// Prefill then one token at a time gives the logits of one full forward, position by
    /// position (the cached queries see all earlier keys and no later ones).
    func testIncrementalLogitsEqualFullForward() {
        let model = tinyModel()
        let ids = Tensor([[15496, 11, 314, 716, 27018, 24086, 47843, 30961],
                          [6109, 3626, 6100, 345, 34245, 5139, 2492, 25405]])       // (2, 8)
        let full = noGrad { model(ids) }                                            // (2, 8, vocab)
        model.resetKVCache()
        var pieces = [noGrad { model(ids.slice(1, start: 0, end: 3), useCache: true) }]   // prefill 3
        for t in 3..<8 { pieces.append(noGrad { model(ids.slice(1, start: t, end: t + 1), useCache: true) }) }
        XCTAssertEqual(model.currentPos, 8)
        let cached = Tensor.cat(pieces, dim: 1)
        XCTAssertEqual(cached.shape, full.shape)
        let maxDiff = (cached - full).abs().max().item()
        XCTAssertLessThan(maxDiff, 1e-4, "cached vs full-forward logits: max |diff| = \(maxDiff)")
    }

    /// Cached greedy decoding equals uncached greedy decoding token for token: 30 new tokens after
    /// "Hello, I am" (B20's rule, the book's KV-cache tests), batch of two; and sampling with
    /// temperature and top-k from the same seed draws the same tokens.
    func testCachedEqualsUncachedSmallModel() {
        let model = tinyModel()
        let prompt = Tensor([[15496, 11, 314, 716], [6109, 3626, 6100, 345]])
        let uncached = generateTextSimple(model: model, idx: prompt, maxNewTokens: 30, contextSize: 64)
        let cached = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 30)
        XCTAssertEqual(cached.shape, [2, 34])
        XCTAssertEqual(cached.toInt64s(), uncached.toInt64s(), "greedy, cache vs no cache")
        XCTAssertEqual(model.currentPos, 33, "prefill 4 + 29 single tokens (the last token is never fed)")

        manualSeed(42)
        let sampled = generate(model: model, idx: prompt, maxNewTokens: 30, contextSize: 64, temperature: 1.4, topK: 25)
        manualSeed(42)
        let sampledCached = generate(model: model, idx: prompt, maxNewTokens: 30, contextSize: 64, temperature: 1.4, topK: 25,
                                     useCache: true)
        XCTAssertEqual(sampledCached.toInt64s(), sampled.toInt64s(), "sampling (T=1.4, top-k 25), cache vs no cache")
        XCTAssertNotEqual(sampled.toInt64s(), uncached.toInt64s(), "sampling should differ from greedy here")

        // Past the window (64): a 50-token prompt and 30 new tokens slide it 16 times.
        let longPrompt = Tensor(array: (0..<50).map { Int64(($0 * 7919) % 50257) }, shape: [1, 50])
        XCTAssertEqual(generateTextSimpleCached(model: model, idx: longPrompt, maxNewTokens: 30).toInt64s(),
                       generateTextSimple(model: model, idx: longPrompt, maxNewTokens: 30, contextSize: 64).toInt64s(),
                       "greedy past the window, cache vs no cache")
    }

    /// C35 through the cache: the untrained 124M model (seed 123, eval) continues "Hello, I am"
    /// with the book's 10 ids (the book's tests expect them from the KV-cache model too), and 30
    /// new tokens equal the uncached loop's.
    func testC35CachedGeneration124M() {
        let model = GPT124M.context1024
        model.eval()
        defer { model.resetKVCache() }
        let prompt = Tensor([[15496, 11, 314, 716]])
        let cached = generateTextSimpleCached(model: model, idx: prompt, maxNewTokens: 30)
        XCTAssertEqual(Array(cached.toInt64s()[..<14]), [15496, 11, 314, 716, 27018, 24086, 47843, 30961, 42348, 7267,
                                                         49706, 43231, 47062, 34657], "C35 ids from the KV-cache loop")
        let uncached = generateTextSimple(model: model, idx: prompt, maxNewTokens: 30, contextSize: 1024)
        XCTAssertEqual(cached.toInt64s(), uncached.toInt64s(), "124M greedy, cache vs no cache")
    }

    /// The cache is non-persistent state (the book's `register_buffer(..., persistent=False)`):
    /// absent until used, listed by `namedBuffers()` once filled, never in `stateDict()` (keys and
    /// count unchanged: the book's 173 for GPT-124M), and loading a state dict still works.
    func testCacheBuffersAreNotInTheStateDict() throws {
        let model = tinyModel()
        let attention = try XCTUnwrap((model.trf_blocks[0] as? TransformerBlock)?.att)
        XCTAssertNil(attention.cache_k)
        XCTAssertNil(attention.cache_v)
        let keysBefore = Array(model.stateDict().keys)
        _ = noGrad { model(Tensor([[1, 2, 3]]), useCache: true) }
        XCTAssertEqual(attention.cache_k?.shape, [1, 4, 64, 16], "cache_k is [B, nHeads, contextLength, headDim]")
        XCTAssertEqual(attention.cache_v?.shape, [1, 4, 64, 16])
        XCTAssertEqual(attention.ptrCurrentPos, 3)
        XCTAssertEqual(Array(model.stateDict().keys), keysBefore)
        XCTAssertFalse(keysBefore.contains { $0.contains("cache") })
        let buffers = model.namedBuffers().map { $0.0 }
        XCTAssertTrue(buffers.contains("trf_blocks.0.att.cache_k") && buffers.contains("trf_blocks.1.att.cache_v"), "\(buffers)")
        XCTAssertNoThrow(try model.loadStateDict(model.stateDict()))

        let gpt124 = GPTModel(.gpt2Small124M, device: .meta)
        for case let block as TransformerBlock in gpt124.trf_blocks.children() {
            block.att.cache_k = Tensor.empty([1, 12, 1024, 64], device: .meta)
            block.att.cache_v = Tensor.empty([1, 12, 1024, 64], device: .meta)
        }
        XCTAssertEqual(gpt124.stateDict().count, 173, "GPT-124M state dict with filled caches")
        XCTAssertEqual(gpt124.namedBuffers().count, 12 * 3, "mask, cache_k, cache_v per block")
    }

    /// Non-persistent buffers move with `to(_:)`; `resetKVCache()` empties every block's cache and
    /// the position counters.
    func testCacheMovesWithTheModelAndResets() throws {
        let model = tinyModel()
        _ = noGrad { model(Tensor([[1, 2, 3, 4]]), useCache: true) }
        model.to(.meta)
        for case let block as TransformerBlock in model.trf_blocks.children() {
            XCTAssertEqual(block.att.cache_k?.device, .meta)
            XCTAssertEqual(block.att.cache_v?.device, .meta)
            XCTAssertEqual(block.att.cache_k?.shape, [1, 4, 64, 16])
        }
        XCTAssertEqual(model.currentPos, 4)
        model.resetKVCache()
        XCTAssertEqual(model.currentPos, 0)
        for case let block as TransformerBlock in model.trf_blocks.children() {
            XCTAssertNil(block.att.cache_k)
            XCTAssertNil(block.att.cache_v)
            XCTAssertEqual(block.att.ptrCurrentPos, 0)
        }
    }

    /// `ember generate`'s path (`samplePrompt`, chapter 5.3 sampling with T=1.4, top-k 25, seed
    /// 123) gives the same sample with and without the cache, also when the window slides
    /// (context 16, 4 + 30 tokens) and when the prompt is cropped.
    func testSamplePromptWithCacheEqualsWithout() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let model = tinyModel(contextLength: 16)
        for prompt in ["Every effort moves you", String(repeating: "I had always thought Jack Gisburn rather a cheap genius. ", count: 3)] {
            for (temperature, topK) in [(1.4, 25 as Int?), (0, nil)] {
                let plain = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 30,
                                             temperature: temperature, topK: topK, seed: 123)
                let cached = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 30,
                                              temperature: temperature, topK: topK, seed: 123, useCache: true)
                XCTAssertEqual(cached, plain, "prompt \(plain.promptTokens) tokens, T=\(temperature)")
            }
        }
    }

    /// Streaming (issue 14 item 4): `onText` receives the prompt, then one piece per new token (a
    /// character split over tokens held back), and the pieces join to the sample's text; the sample
    /// is the one without streaming. `eosId` stops before the id, as the book's `generate`.
    func testSamplePromptStreamsTextAndStopsAtEos() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let model = tinyModel(contextLength: 16)
        // " 😀" is two tokens: 30325 (" " and the emoji's first three bytes) and 222 (its last byte).
        let prompt = "Every effort moves you \u{1F600}"
        XCTAssertEqual(Array(try tokenizer.encode(prompt).suffix(2)), [30325, 222])
        var pieces: [String] = []
        let streamed = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 20,
                                        temperature: 1.4, topK: 25, seed: 123, useCache: true) { pieces.append($0) }
        let plain = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 20,
                                     temperature: 1.4, topK: 25, seed: 123, useCache: true)
        XCTAssertEqual(streamed, plain)
        XCTAssertEqual(pieces.joined(), plain.text)
        XCTAssertEqual(pieces.first, prompt)                                   // the split emoji whole, no U+FFFD
        XCTAssertEqual(pieces.count, 1 + 20 + 1)                               // prompt, one per token, the held-back rest
        // eos_id: greedy's third new token as the end id stops before it.
        let greedy = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 5, temperature: 0, topK: nil, seed: nil)
        let promptCount = greedy.tokenIds.count - 5
        let eos = greedy.tokenIds[promptCount + 2]
        let firstEos = greedy.tokenIds[promptCount...].firstIndex(of: eos)!
        let stopped = try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 5, temperature: 0,
                                       topK: nil, eosId: eos, seed: nil)
        XCTAssertEqual(stopped.tokenIds, Array(greedy.tokenIds[..<firstEos]))
        XCTAssertThrowsError(try samplePrompt(model: model, tokenizer: tokenizer, prompt: prompt, maxNewTokens: 5, temperature: 1,
                                              topK: nil, topP: -0.1, seed: 1)) {
            XCTAssertEqual($0 as? TrainingError, .invalidSetting("top-p must lie in [0, 1], got -0.1"))
        }
    }

    /// `ember generate` streams exactly `samplePrompt`'s text (then a newline), stops at
    /// `--eos-id` unless `--ignore-eos`, takes `--top-p` and `--repetition-penalty`, and rejects
    /// out-of-range values.
    func testEmberGenerateStreamsTheSampleAndTakesTheNewOptions() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, modelArgs) = try CheckpointTests.savedTinyModel(in: dir)
        let args = ["generate"] + modelArgs + ["--max-new-tokens", "12"]
        let tokenizer = try GPT2Tokenizer.gpt2()
        model.eval()
        let expected = try samplePrompt(model: model, tokenizer: tokenizer, prompt: "Every effort moves you", maxNewTokens: 12,
                                        temperature: 1.4, topK: 25, topP: 0.8, repetitionPenalty: 1.3, eosId: 50256, seed: 123, useCache: true)
        let run = try TrainCommandTests.runEmber(args + ["--top-p", "0.8", "--repetition-penalty", "1.3"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.out, expected.text + "\n")
        // --eos-id: the greedy run's fourth new token ends it early; --ignore-eos goes on.
        let greedy = try samplePrompt(model: model, tokenizer: tokenizer, prompt: "Every effort moves you", maxNewTokens: 12,
                                      temperature: 0, topK: nil, seed: nil)
        let eos = greedy.tokenIds[greedy.tokenIds.count - 12 + 3]
        let cut = try samplePrompt(model: model, tokenizer: tokenizer, prompt: "Every effort moves you", maxNewTokens: 12,
                                   temperature: 0, topK: nil, eosId: eos, seed: nil)
        let stopped = try TrainCommandTests.runEmber(args + ["--temperature", "0", "--eos-id", "\(eos)"])
        XCTAssertEqual(stopped.out, cut.text + "\n")
        let ignored = try TrainCommandTests.runEmber(args + ["--temperature", "0", "--eos-id", "\(eos)", "--ignore-eos"])
        XCTAssertEqual(ignored.out, greedy.text + "\n")
        for (flag, value) in [("--top-p", "1.5"), ("--repetition-penalty", "0")] {
            let bad = try TrainCommandTests.runEmber(args + [flag, value])
            XCTAssertNotEqual(bad.status, 0)
            XCTAssertTrue(bad.err.contains(flag), bad.err)
        }
    }

    /// The built `ember generate` prints the same text with the cache (default) and with
    /// `--no-kv-cache`, past the window of a context-16 model.
    func testEmberGenerateNoKVCacheFlagGivesTheSameText() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["generate"] + (try CheckpointTests.savedTinyModel(in: dir)).args + ["--max-new-tokens", "30"]
        let cached = try TrainCommandTests.runEmber(args)
        let plain = try TrainCommandTests.runEmber(args + ["--no-kv-cache"])
        XCTAssertEqual(cached.status, 0, cached.err)
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertTrue(cached.out.hasPrefix("Every effort moves you"), cached.out)
        XCTAssertEqual(cached.out, plain.out)
    }
}
