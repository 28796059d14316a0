import EmberCore
import EmberLLM
import EmberNN
import Foundation
import XCTest

/// A model whose next-token logits are fixed: `[B, T]` ids → `[B, T, vocab]` copies of `row`.
final class FixedLogitsModel: Module, UnaryLayer {
    let row: [Double]
    init(_ row: [Double]) { self.row = row; super.init() }
    func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor(array: row.map { Float($0) }, shape: [1, 1, row.count]).expand([x.shape[0], x.shape[1], row.count]).contiguous()
    }
}

/// Decoding (chapters 4.7 and 5.3): cases C35, C37, C43, B19, B22 (docs/cases.md).
final class GenerationTests: XCTestCase {
    /// C43's toy vocabulary logits (closer, every, effort, forward, inches, moves, pizza, toward, you).
    let toyLogits: [Double] = [4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79]

    /// C43: argmax → `forward`; seed 123 multinomial → `forward`; 1,000 seeded draws per
    /// temperature give the book's exact counts; `softmax(logits / 5)[pizza] = 0.0430`; top-3
    /// masking and its softmax.
    func testC43ToyNextTokenSampling() {
        let logits = Tensor(array: toyLogits.map { Float($0) }, shape: [1, 9])
        XCTAssertEqual(nextToken(logits: logits).toInt64s(), [3])
        manualSeed(123)
        XCTAssertEqual(nextToken(logits: logits, temperature: 1).toInt64s(), [3])
        let expectedCounts: [(Double, [Int])] = [
            (1, [73, 0, 0, 582, 2, 0, 0, 343, 0]),
            (0.1, [0, 0, 0, 985, 0, 0, 0, 15, 0]),
            (5, [165, 75, 42, 239, 71, 46, 32, 227, 103]),
        ]
        for (temperature, counts) in expectedCounts {
            manualSeed(123)
            var got = [Int](repeating: 0, count: 9)
            for _ in 0..<1000 { got[Int(nextToken(logits: logits, temperature: temperature).toInt64s()[0])] += 1 }
            XCTAssertEqual(got, counts, "C43 sampled counts at T=\(temperature)")
        }
        let pizza: Double = softmax(logits / 5, dim: -1)[0, 6]
        XCTAssertEqual(pizza, 0.0430, accuracy: 5e-5)

        let masked = topKFiltered(logits, k: 3)
        let inf = -Double.infinity
        XCTAssertEqual(masked.toDoubles(), [4.51, inf, inf, 6.75, inf, inf, inf, 6.28, inf].map { Double(Float($0)) })
        assertClose(softmax(masked, dim: -1).toDoubles(), [0.0615, 0, 0, 0.5775, 0, 0, 0, 0.3610, 0],
                    rtol: 0, atol: 5e-5, "C43 top-k softmax")
    }

    /// B22: sampling hyper-parameter edge cases on the bug's 8-logit row.
    func testB22SamplingEdgeCases() {
        let row: [Double] = [0.5, -1.2, 3.1, 0.8, -0.3, 2.7, -0.9, 1.4]
        let logits = Tensor(array: row.map { Float($0) }, shape: [1, 8])
        // top_k ≥ vocab behaves exactly like no top-k (same draws, same tokens).
        manualSeed(7)
        let plain = (0..<50).map { _ in nextToken(logits: logits, temperature: 1).toInt64s()[0] }
        manualSeed(7)
        let clamped = (0..<50).map { _ in nextToken(logits: logits, temperature: 1, topK: 100).toInt64s()[0] }
        XCTAssertEqual(clamped, plain)
        XCTAssertGreaterThan(Set(plain).count, 1, "sampling at T=1 should not be constant")
        // top_k ≤ 0: a clear error naming top_k, never an all −inf row.
        for k in [0, -1] {
            XCTAssertThrowsError(try withErrorCapture { _ = nextToken(logits: logits, temperature: 1, topK: k) }) {
                XCTAssertTrue("\($0)".contains("top_k"), "\($0)")
            }
            let model = FixedLogitsModel(row)
            XCTAssertThrowsError(try withErrorCapture {
                _ = generate(model: model, idx: Tensor([[0]]), maxNewTokens: 1, contextSize: 4, temperature: 1, topK: k)
            })
        }
        // temperature 0 (any ≤ 0) is greedy: index 2, deterministic.
        XCTAssertEqual(nextToken(logits: logits, temperature: 0).toInt64s(), [2])
        XCTAssertEqual(nextToken(logits: logits, temperature: -1).toInt64s(), [2])
        // temperature 1, top_k 1: always index 2.
        manualSeed(123)
        XCTAssertEqual(Set((0..<20).map { _ in nextToken(logits: logits, temperature: 1, topK: 1).toInt64s()[0] }), [2])
    }

    /// Top-p (Hugging Face's `TopPLogitsWarper`) on C43's toy logits, by hand: softmax
    /// [0.0609 closer, 0.0016, 0.0001, 0.5721 forward, 0.0034, 0.0001, 0.0001, 0.3576 toward, 0.0040 you];
    /// ascending cumulative sums …0.0094 (you), 0.0703 (closer), 0.4279 (toward), 1 (forward). A token
    /// goes when its cumulative sum is ≤ 1 − top_p: 0.9 keeps {toward, forward}, 0.95 adds closer,
    /// 0.5 and 0 keep only forward (the most probable always stays), 1 keeps all. Rows are
    /// filtered independently (the second row is the first reversed).
    func testTopPFilterByHand() {
        let inf = -Double.infinity
        let row = toyLogits.map { Double(Float($0)) }
        let logits = Tensor(array: toyLogits.map { Float($0) }, shape: [1, 9])
        func kept(_ indices: Set<Int>) -> [Double] { row.enumerated().map { indices.contains($0.offset) ? $0.element : inf } }
        XCTAssertEqual(topPFiltered(logits, p: 0.9).toDoubles(), kept([3, 7]))
        XCTAssertEqual(topPFiltered(logits, p: 0.95).toDoubles(), kept([0, 3, 7]))
        XCTAssertEqual(topPFiltered(logits, p: 0.5).toDoubles(), kept([3]))
        XCTAssertEqual(topPFiltered(logits, p: 0).toDoubles(), kept([3]))
        XCTAssertEqual(topPFiltered(logits, p: 1).toDoubles(), row)
        let two = Tensor(array: (toyLogits + toyLogits.reversed()).map { Float($0) }, shape: [2, 9])
        XCTAssertEqual(topPFiltered(two, p: 0.9).toDoubles(), kept([3, 7]) + kept([3, 7]).reversed())
    }

    /// Top-p comes after the temperature (Hugging Face's order): at T = 2 the probabilities flatten
    /// (ascending cumulative sums …0.0727 inches, 0.1080 you, 0.2455 closer, …), so top_p 0.9 keeps
    /// {you, closer, toward, forward}; the seeded draws are `multinomial(softmax(masked / 2))`'s.
    /// With top_p 1 and penalty 1 the draws are the book's (C43's 1,000-draw counts at T = 1).
    func testTopPSamplingAfterTemperatureAndDefaultsKeepTheBooksDraws() {
        let logits = Tensor(array: toyLogits.map { Float($0) }, shape: [1, 9])
        let masked = logits.maskedFill(Tensor([[0, 1, 1, 0, 1, 1, 1, 0, 0]]) == 1, -Double.infinity)
        manualSeed(123)
        let draws = (0..<200).map { _ in nextToken(logits: logits, temperature: 2, topP: 0.9).toInt64s()[0] }
        manualSeed(123)
        let reference = (0..<200).map { _ in softmax(masked / 2, dim: -1).multinomial(1).toInt64s()[0] }
        XCTAssertEqual(draws, reference)
        XCTAssertEqual(Set(draws), [0, 3, 7, 8])
        manualSeed(123)
        var got = [Int](repeating: 0, count: 9)
        let previous = Tensor([[3, 7, 0]])
        for _ in 0..<1000 {
            got[Int(nextToken(logits: logits, temperature: 1, topP: 1, repetitionPenalty: 1, previousTokens: previous).toInt64s()[0])] += 1
        }
        XCTAssertEqual(got, [73, 0, 0, 582, 2, 0, 0, 343, 0], "C43 counts with neutral top-p and penalty")
        // Greedy decoding ignores top-p (the argmax always survives it).
        XCTAssertEqual(nextToken(logits: logits, topP: 0.1).toInt64s(), [3])
    }

    /// Repetition penalty (Hugging Face's `RepetitionPenaltyLogitsProcessor`), by hand: every id in
    /// the sequence, each once however often it occurs — a positive logit divided by the penalty, a
    /// negative one multiplied (float32, as `torch.where(score < 0, score * p, score / p)`).
    func testRepetitionPenaltyByHand() {
        let logits = Tensor(array: toyLogits.map { Float($0) }, shape: [1, 9])
        let previous = Tensor([[3, 0, 3, 2]])                                  // forward twice, closer, effort
        var expected = toyLogits.map { Float($0) }
        expected[3] = Float(6.75) / Float(1.5)                                 // 4.5
        expected[0] = Float(4.51) / Float(1.5)
        expected[2] = Float(-1.90) * Float(1.5)
        XCTAssertEqual(repetitionPenalized(logits, previousTokens: previous, penalty: 1.5).toFloats(), expected)
        XCTAssertEqual(expected[3], 4.5)
        // Greedy: forward (6.75 → 4.5) loses to toward (6.28).
        XCTAssertEqual(nextToken(logits: logits, repetitionPenalty: 1.5, previousTokens: previous).toInt64s(), [7])
        // Per row of a batch.
        let two = Tensor(array: (toyLogits + toyLogits).map { Float($0) }, shape: [2, 9])
        let rows = repetitionPenalized(two, previousTokens: Tensor([[3, 3], [7, 1]]), penalty: 2).toFloats()
        var row0 = toyLogits.map { Float($0) }, row1 = row0
        row0[3] = Float(6.75) / 2
        row1[7] = Float(6.28) / 2
        row1[1] = Float(0.89) / 2
        XCTAssertEqual(rows, row0 + row1)
        // In `generate`, the prompt and every new token count: with logits [0.1, 0.2, 3.0, 0.3] and
        // penalty 40, step 1 picks 2 (3.0), step 2 sees 3.0 / 40 = 0.075 < 0.1 and picks 0, step 3 sees
        // [0.0025, 0.005, 0.075, 0.0075] and picks 2.
        let model = FixedLogitsModel([0.1, 0.2, 3.0, 0.3])
        XCTAssertEqual(generate(model: model, idx: Tensor([[1, 3]]), maxNewTokens: 3, contextSize: 8, repetitionPenalty: 40).toInt64s(),
                       [1, 3, 2, 0, 2])
        // Out-of-range options are Hugging Face's ValueErrors.
        XCTAssertThrowsError(try withErrorCapture { _ = nextToken(logits: logits, temperature: 1, topP: 1.5) }) {
            XCTAssertTrue("\($0)".contains("top_p has to be a float between 0 and 1, but is 1.5"), "\($0)")
        }
        XCTAssertThrowsError(try withErrorCapture {
            _ = generate(model: model, idx: Tensor([[1]]), maxNewTokens: 1, contextSize: 8, repetitionPenalty: 0)
        }) {
            XCTAssertTrue("\($0)".contains("repetition_penalty has to be a strictly positive float, but is 0.0"), "\($0)")
        }
    }

    /// The book's `generate` stops before appending `eos_id`; with no eos it appends maxNewTokens.
    func testGenerateStopsAtEosAndKeepsPrompt() {
        let model = FixedLogitsModel([0.1, 0.2, 3.0, 0.3])       // argmax 2
        let prompt = Tensor([[1, 3]])
        XCTAssertEqual(generate(model: model, idx: prompt, maxNewTokens: 3, contextSize: 8).toInt64s(), [1, 3, 2, 2, 2])
        XCTAssertEqual(generate(model: model, idx: prompt, maxNewTokens: 3, contextSize: 8, eosId: 2).toInt64s(), [1, 3])
    }

    /// B19: generation crops the conditioning window to the last `contextSize` tokens each step:
    /// a context-4 model, a 3-token prompt and 5 new tokens give 8 tokens, the prompt first.
    func testB19GenerationCropsToContext() {
        manualSeed(123)
        let model = GPTModel(GPTFixture.config.with(vocabSize: 100, contextLength: 4, nLayers: 1))
        model.eval()
        let prompt = Tensor([[5, 6, 7]])
        let out = generateTextSimple(model: model, idx: prompt, maxNewTokens: 5, contextSize: 4)
        XCTAssertEqual(out.shape, [1, 8])
        XCTAssertEqual(Array(out.toInt64s()[..<3]), [5, 6, 7])
        let sampled = generate(model: model, idx: prompt, maxNewTokens: 5, contextSize: 4, temperature: 1, topK: 10)
        XCTAssertEqual(sampled.shape, [1, 8])
        // Greedy `generate` equals `generateTextSimple` (same crop, same argmax).
        XCTAssertEqual(generate(model: model, idx: prompt, maxNewTokens: 5, contextSize: 4).toInt64s(), out.toInt64s())
    }

    /// Chapter 5.1: `text_to_token_ids` / `token_ids_to_text` round trip (C28's first text).
    func testTextTokenIdRoundTrip() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let ids = try textToTokenIds("Every effort moves you", tokenizer: tokenizer)
        XCTAssertEqual(ids.shape, [1, 4])
        XCTAssertEqual(ids.dtype, .int64)
        XCTAssertEqual(ids.toInt64s(), [6109, 3626, 6100, 345])
        XCTAssertEqual(try tokenIdsToText(ids, tokenizer: tokenizer), "Every effort moves you")
        XCTAssertEqual(try textToTokenIds("<|endoftext|>", tokenizer: tokenizer).toInt64s(), [50256])
    }

    /// C35: the untrained 124M model (seed 123, eval) continues "Hello, I am" greedily with
    /// `Featureiman Byeswickattribute argue logger Normandy Compton analogous` (14 ids).
    func testC35GreedyGeneration124M() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let model = GPT124M.context1024
        model.eval()
        let encoded = try textToTokenIds("Hello, I am", tokenizer: tokenizer)
        XCTAssertEqual(encoded.toInt64s(), [15496, 11, 314, 716])
        let out = generateTextSimple(model: model, idx: encoded, maxNewTokens: 10, contextSize: 1024)
        XCTAssertEqual(out.toInt64s(), [15496, 11, 314, 716, 27018, 24086, 47843, 30961, 42348, 7267,
                                        49706, 43231, 47062, 34657])
        XCTAssertEqual(try tokenIdsToText(out, tokenizer: tokenizer),
                       "Hello, I am Featureiman Byeswickattribute argue logger Normandy Compton analogous")
    }

    /// C37: the untrained 124M model with context 256 (seed 123, eval) continues
    /// "Every effort moves you" greedily for 10 tokens.
    func testC37GreedyGeneration124MContext256() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let model = GPT124M.context256
        model.eval()
        let out = generateTextSimple(model: model, idx: try textToTokenIds("Every effort moves you", tokenizer: tokenizer),
                                     maxNewTokens: 10, contextSize: 256)
        XCTAssertEqual(out.toInt64s(), [6109, 3626, 6100, 345, 34245, 5139, 2492, 25405, 17434, 17853, 5308, 3398, 13174, 43071])
        XCTAssertEqual(try tokenIdsToText(out, tokenizer: tokenizer), "Every effort moves you rentingetic wasnم refres RexMeCHicular stren")
    }
}

/// The book's two untrained 124M models (`manual_seed(123); GPTModel(cfg)`), built once per test
/// process (≈650 MB each) and shared by the tests that need them, with the global generator's
/// state right after construction (C33 runs its train-mode forward from there).
enum GPT124M {
    nonisolated(unsafe) static let built1024: (model: GPTModel, rngAfterInit: GeneratorState) = {
        manualSeed(123)
        let model = GPTModel(.gpt2Small124M)
        return (model, Generator.default.getState())
    }()
    static var context1024: GPTModel { built1024.model }
    nonisolated(unsafe) static let context256: GPTModel = { manualSeed(123); return GPTModel(.gpt2Small124M.with(contextLength: 256)) }()
}
