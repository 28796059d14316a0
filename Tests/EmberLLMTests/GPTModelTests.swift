import EmberCore
import EmberLLM
import EmberNN
import Foundation
import XCTest

// MARK: - Shared helpers for the EmberLLM model/data/generation/training tests

/// `Fixtures/gpt/expected.json` (torch 2.13, the book's ch04 classes; see Fixtures/gpt/README.md).
enum GPTFixture {
    /// The fixture's config: vocab 50257, context 64, emb 64, 4 heads, 2 layers, dropout 0.1.
    static let config = GPTConfig(vocabSize: 50257, contextLength: 64, embDim: 64, nHeads: 4,
                                  nLayers: 2, dropRate: 0.1, qkvBias: false)

    static func expected() throws -> [String: Any] {
        guard let url = Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures/gpt") else {
            throw XCTSkip("fixture Fixtures/gpt/expected.json is missing from the test bundle")
        }
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// `torch.manual_seed(123); model = GPTModel(cfg)`.
    static func model(_ cfg: GPTConfig = config) -> GPTModel {
        manualSeed(123)
        return GPTModel(cfg)
    }

    /// The Verdict's GPT-2 ids (tiktoken, `Fixtures/tokenizer/the-verdict.gpt2-token-ids.json`).
    static func verdictIds() throws -> [Int] {
        guard let url = Bundle.module.url(forResource: "the-verdict.gpt2-token-ids", withExtension: "json", subdirectory: "Fixtures/tokenizer") else {
            throw XCTSkip("Fixtures/tokenizer/the-verdict.gpt2-token-ids.json is missing")
        }
        return jsonInts(try JSONSerialization.jsonObject(with: Data(contentsOf: url)))
    }
}

func jsonDoubles(_ any: Any?) -> [Double] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
func jsonInts(_ any: Any?) -> [Int] { (any as? [Any] ?? []).map { ($0 as? NSNumber)?.intValue ?? -1 } }
func jsonObject(_ any: Any?) -> [String: Any] { any as? [String: Any] ?? [:] }
func jsonDouble(_ any: Any?) -> Double { (any as? NSNumber)?.doubleValue ?? .nan }

/// Fails naming `label`, the first index whose |a−b| > atol + rtol·|b|, and the largest difference.
func assertClose(_ actual: [Double], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-4,
                 _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        return XCTFail("\(label): \(actual.count) values, expected \(expected.count)", file: file, line: line)
    }
    var maxDiff = 0.0, firstBad: Int? = nil
    for (i, (a, b)) in zip(actual, expected).enumerated() {
        let d = Swift.abs(a - b)
        maxDiff = Swift.max(maxDiff, d)
        if !(d <= atol + rtol * Swift.abs(b)) && firstBad == nil { firstBad = i }
    }
    if let i = firstBad {
        XCTFail("\(label): index \(i) is \(actual[i]), expected \(expected[i]); maxdiff \(maxDiff)", file: file, line: line)
    }
}

extension Tensor {
    /// float64 sum and L2 norm of the values, as the fixtures' `stats`.
    var sumAndNorm: (sum: Double, l2: Double) {
        let v = toDoubles()
        return (v.reduce(0, +), v.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }
}

/// The book's GPT model (chapter 4) against `Fixtures/gpt` (PyTorch 2.13) and cases C24, C33, C34,
/// C35, B16, B19 (docs/cases.md).
final class GPTModelTests: XCTestCase {
    /// Fixture `state_dict_keys` + `state_dict`: the book's 33 keys in order, shapes, and the
    /// seeded initial values bit for bit (first/last 8 values exact; float64 sum and L2 norm).
    func testFixtureStateDictKeysAndSeededInit() throws {
        let exp = try GPTFixture.expected()
        let model = GPTFixture.model()
        let sd = model.stateDict()
        XCTAssertEqual(Array(sd.keys), (exp["state_dict_keys"] as? [String]) ?? [])
        XCTAssertEqual(model.namedParameters().map { $0.0 }, (exp["named_parameters"] as? [String]) ?? [])
        XCTAssertEqual(model.namedBuffers().map { $0.0 }, (exp["named_buffers"] as? [String]) ?? [])
        XCTAssertEqual(model.numParameters(), exp["parameter_count"] as? Int)
        let entries = jsonObject(exp["state_dict"])
        for (key, t) in sd {
            let e = jsonObject(entries[key])
            XCTAssertEqual(t.shape, jsonInts(e["shape"]), key)
            XCTAssertEqual(t.dtype, .float32, key)
            // Compared as float32: the fixture's decimals of uniform-initialised tensors are not
            // always the exact float32 value, but always round to it.
            let v: [Float] = t.flatten().toFloats()
            XCTAssertEqual([Float](v[..<8]), jsonDoubles(e["first8"]).map { Float($0) }, "\(key) first8 (bit-exact init)")
            XCTAssertEqual([Float](v[(v.count - 8)...]), jsonDoubles(e["last8"]).map { Float($0) }, "\(key) last8 (bit-exact init)")
            let stats = jsonObject(e["stats"])
            let (sum, l2) = t.sumAndNorm
            assertClose([sum, l2], [jsonDouble(stats["sum"]), jsonDouble(stats["l2_norm"])], rtol: 1e-9, atol: 1e-9, "\(key) stats")
        }
    }

    /// Compares logits `[2, 4, 50257]` with a fixture summary (`logits_eval` / `logits_train`):
    /// per position argmax, max, min, logsumexp, first/last 8 and the probe ids, within 1e-4.
    private func assertLogits(_ logits: Tensor, _ summary: [String: Any], _ label: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(logits.shape, jsonInts(summary["shape"]), label, file: file, line: line)
        let probes = jsonInts(summary["probe_ids"])
        for p in summary["positions"] as? [[String: Any]] ?? [] {
            let (b, t) = (p["b"] as? Int ?? -1, p["t"] as? Int ?? -1)
            let row = logits[b, t]
            let v = row.toDoubles()
            let where_ = "\(label)[\(b), \(t)]"
            XCTAssertEqual(row.argmax().intItem(), p["argmax"] as? Int, "\(where_) argmax", file: file, line: line)
            assertClose([row.max().item(), row.min().item(), row.logsumexp(0).item()],
                        [jsonDouble(p["max"]), jsonDouble(p["min"]), jsonDouble(p["logsumexp_f64"])], "\(where_) max/min/logsumexp", file: file, line: line)
            assertClose(Array(v.prefix(8)), jsonDoubles(p["first8"]), "\(where_) first8", file: file, line: line)
            assertClose(Array(v.suffix(8)), jsonDoubles(p["last8"]), "\(where_) last8", file: file, line: line)
            assertClose(probes.map { v[$0] }, jsonDoubles(p["at_probe_ids"]), "\(where_) probe ids", file: file, line: line)
            let top10 = (p["top10"] as? [[Any]] ?? []).map { ($0[0] as? NSNumber)?.intValue ?? -1 }
            XCTAssertEqual(row.topk(3).indices.toInt64s().map(Int.init), Array(top10.prefix(3)), "\(where_) top-3 ids", file: file, line: line)
        }
    }

    /// Fixture `logits_eval`: `model.eval()`, no-grad forward of the C28 batch.
    func testFixtureEvalLogits() throws {
        let exp = try GPTFixture.expected()
        let model = GPTFixture.model()
        model.eval()
        let batch = Tensor([[6109, 3626, 6100, 345], [6109, 1110, 6622, 257]])   // C28
        XCTAssertEqual(batch.dtype, .int64)
        let logits = noGrad { model(batch) }
        assertLogits(logits, jsonObject(exp["logits_eval"]), "logits_eval")
    }

    /// Fixture `logits_train`: `model.train(); manual_seed(123)` right before the forward, so the
    /// dropout masks (drop_emb, then per block attention weights and both shortcuts) match.
    func testFixtureTrainModeLogitsWithDropout() throws {
        let exp = try GPTFixture.expected()
        let model = GPTFixture.model()
        model.train()
        manualSeed(123)
        let logits = model(Tensor([[6109, 3626, 6100, 345], [6109, 1110, 6622, 257]]))
        XCTAssertEqual(logits.gradFn?.name, "UnsafeViewBackward0")
        assertLogits(logits, jsonObject(exp["logits_train"]), "logits_train")
    }

    /// Fixture `generation`: greedy `generateTextSimple` from "Hello, I am" for 10 tokens.
    func testFixtureGreedyGeneration() throws {
        let exp = jsonObject(try GPTFixture.expected()["generation"])
        let model = GPTFixture.model()
        model.eval()
        let idx = Tensor(array: jsonInts(exp["prompt_ids"]).map(Int64.init), shape: [1, 4])
        let out = generateTextSimple(model: model, idx: idx, maxNewTokens: 10, contextSize: 64)
        XCTAssertEqual(out.shape, [1, 14])
        XCTAssertEqual(out.toInt64s().map(Int.init), jsonInts(exp["output_ids"]))
    }

    /// B16: the GPT-124M state dict has the book's 173 keys in registration order (own params,
    /// own buffers, then children; Sequential children `0…11`, FeedForward `layers.0`/`layers.2`).
    /// Built on `meta`, so no memory or random draws.
    func testB16StateDictKeysOf124M() {
        let model = GPTModel(.gpt2Small124M, device: .meta)
        let keys = Array(model.stateDict().keys)
        XCTAssertEqual(keys.count, 173)
        let block0 = ["att.mask", "att.W_query.weight", "att.W_key.weight", "att.W_value.weight",
                      "att.out_proj.weight", "att.out_proj.bias", "ff.layers.0.weight", "ff.layers.0.bias",
                      "ff.layers.2.weight", "ff.layers.2.bias", "norm1.scale", "norm1.shift",
                      "norm2.scale", "norm2.shift"]
        var expected = ["tok_emb.weight", "pos_emb.weight"]
        for i in 0..<12 { expected += block0.map { "trf_blocks.\(i).\($0)" } }
        expected += ["final_norm.scale", "final_norm.shift", "out_head.weight"]
        XCTAssertEqual(keys, expected)
        // With qkv_bias (OpenAI's weights) each block gains W_query/W_key/W_value biases: 209 keys.
        XCTAssertEqual(GPTModel(.gpt2Small124M.with(qkvBias: true), device: .meta).stateDict().count, 209)
    }

    /// C34 and exercise 4.2: parameter counts, weight-tied counts and float32 sizes of the four
    /// GPT-2 sizes (built on `meta`: shapes only).
    func testC34ParameterCountsAndSizes() {
        let cases: [(GPTConfig, Int, Int, String)] = [
            (.gpt2Small124M, 163_009_536, 124_412_160, "621.83"),
            (.gpt2Medium355M, 406_212_608, 354_749_440, "1549.58"),
            (.gpt2Large774M, 838_220_800, 773_891_840, "3197.56"),
            (.gpt2XL1558M, 1_637_792_000, 1_557_380_800, "6247.68"),
        ]
        for (cfg, total, tied, megabytes) in cases {
            let model = GPTModel(cfg, device: .meta)
            XCTAssertEqual(model.numParameters(), total, "\(cfg)")
            XCTAssertEqual(model.tok_emb.weight.shape, [50257, cfg.embDim])
            XCTAssertEqual(model.out_head.weight.shape, [50257, cfg.embDim])
            XCTAssertEqual(total - model.out_head.weight.numel, tied, "weight-tied count")
            XCTAssertEqual(String(format: "%.2f", Double(total * 4) / (1024 * 1024)), megabytes)
        }
        XCTAssertEqual(GPTModel(.gpt2Small124M.with(qkvBias: true), device: .meta).numParameters(), 163_037_184)
    }

    /// C24: `manual_seed(123)`; MultiHeadAttention(d_in 3, d_out 2, context 6, dropout 0, 2 heads)
    /// on the book's 6×3 inputs stacked twice.
    func testC24MultiHeadAttention() {
        manualSeed(123)
        let inputs = Tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                             [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
        let batch = Tensor.stack([inputs, inputs], dim: 0)
        let mha = MultiHeadAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0, numHeads: 2)
        let out = mha(batch)
        XCTAssertEqual(out.shape, [2, 6, 2])
        XCTAssertEqual(out.gradFn?.name, "ViewBackward0")
        let expected: [Double] = [0.3190, 0.4858, 0.2943, 0.3897, 0.2856, 0.3593,
                                  0.2693, 0.3873, 0.2639, 0.3928, 0.2575, 0.4028]
        assertClose(out[0].flatten().toDoubles(), expected, rtol: 0, atol: 5e-5, "C24 context_vecs[0]")
        assertClose(out[1].flatten().toDoubles(), expected, rtol: 0, atol: 5e-5, "C24 context_vecs[1]")
        XCTAssertEqual(Array(mha.stateDict().keys), ["mask", "W_query.weight", "W_key.weight", "W_value.weight",
                                                     "out_proj.weight", "out_proj.bias"])
    }

    /// B19: a 5-token input to a model with context_length 4 is a clear error naming both lengths
    /// (never an out-of-range embedding read or a 4×4 mask broadcast against 5×5 scores).
    func testB19InputLongerThanContextIsAClearError() {
        manualSeed(123)
        let model = GPTModel(GPTFixture.config.with(contextLength: 4, nLayers: 1))
        let ids = Tensor([[1, 2, 3, 4, 5]])
        XCTAssertThrowsError(try withErrorCapture { _ = model(ids) }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("5") && text.contains("context_length is 4"), text)
        }
        let attention = model.trf_blocks[0] as? TransformerBlock
        XCTAssertThrowsError(try withErrorCapture { _ = attention?.att(Tensor.zeros([1, 5, 64])) }) { error in
            XCTAssertTrue("\(error)".contains("context_length=4"), "\(error)")
        }
    }

    /// The book's module printout names (`print(model)`): the GPT LayerNorm prints as `LayerNorm`.
    func testDescriptionUsesTheBooksClassNames() {
        let block = TransformerBlock(GPTFixture.config.with(vocabSize: 10, contextLength: 4))
        let text = block.description
        XCTAssertTrue(text.contains("(norm1): LayerNorm()"), text)
        XCTAssertTrue(text.contains("(att): MultiHeadAttention("), text)
        XCTAssertTrue(text.contains("(1): GELU(approximate='tanh')"), text)
    }

    /// GPTConfig decodes the book's snake-case JSON keys (`GPT_CONFIG_124M` saved by Python).
    func testConfigCodableUsesTheBooksKeys() throws {
        let json = #"{"vocab_size": 50257, "context_length": 1024, "emb_dim": 768, "n_heads": 12, "n_layers": 12, "drop_rate": 0.1, "qkv_bias": false}"#
        let cfg = try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8))
        XCTAssertEqual(cfg, .gpt2Small124M)
        XCTAssertEqual(cfg.with(contextLength: 256).contextLength, 256)
        XCTAssertEqual(GPTConfig.preset(named: "gpt2-medium (355M)"), .gpt2Medium355M)
    }
}
