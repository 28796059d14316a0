import EmberCore
import EmberLLM
import EmberNN
import Foundation
import XCTest

/// Half-precision inference (Generation/HalfPrecision.swift, EmberCore's HalfWeightGEMM): the
/// book's GPT model cast with `to(.bfloat16)` / `to(.float16)` as `ember generate --dtype` does.
final class HalfPrecisionTests: XCTestCase {
    /// Small enough for a test, large enough to pass through every op of the forward.
    let cfg = GPTConfig(vocabSize: 97, contextLength: 16, embDim: 32, nHeads: 4, nLayers: 2, dropRate: 0, qkvBias: true)

    /// The ops of the forward on bf16 tensors follow PyTorch's CPU rule: compute in float32 from
    /// the exactly widened inputs, round the result once. So each equals the float32 op on the
    /// widened inputs, rounded to bf16 — bit for bit.
    func testForwardOpsOnBFloat16RoundOnceFromFloat32() {
        manualSeed(3)
        let x = Tensor.randn([2, 5, 32]).to(.bfloat16), y = Tensor.randn([2, 5, 32]).to(.bfloat16)
        let xf = x.to(.float32), yf = y.to(.float32)
        func same(_ got: Tensor, _ want32: Tensor, _ what: String) {
            XCTAssertEqual(got.dtype, .bfloat16, what)
            XCTAssertEqual(got.to(.float32).toFloats().map(\.bitPattern), want32.to(.bfloat16).to(.float32).toFloats().map(\.bitPattern), what)
        }
        same(x + y, xf + yf, "add")
        same(x * y, xf * yf, "mul")
        same(x.gelu(approximate: "tanh"), xf.gelu(approximate: "tanh"), "GELU (tanh)")
        same(softmax(x, dim: -1), softmax(xf, dim: -1), "softmax")
        same(x.mean(-1, keepdim: true), xf.mean(-1, keepdim: true), "mean")
        same(x.var(-1, unbiased: false, keepdim: true), xf.var(-1, unbiased: false, keepdim: true), "var")
        // Attention scores: a batched product of two activations (not the weight path).
        same(x.matmul(y.transpose(1, 2)), xf.matmul(yf.transpose(1, 2)), "q @ kᵀ")
        // Embedding lookup copies rows: exact.
        let table = Tensor.randn([10, 32]).to(.bfloat16)
        let ids = Tensor([[1, 7, 7, 0]])
        same(embedding(ids, weight: table), embedding(ids, weight: table.to(.float32)), "embedding")
    }

    /// Logits of the cast model against float32, on every position of a [2, 12] batch.
    /// Tolerance rule: each op rounds to the dtype once (relative error ≤ 2⁻⁹ for bf16, 2⁻¹² for
    /// f16); we allow 32 such roundings of the largest float32 logit magnitude through the two
    /// blocks (16 rounding steps per block, generous), i.e. 32·2⁻⁹·max|logit| for bf16.
    func testSmallGPTLogitsCloseToFloat32() {
        for (dtype, unitRoundoff) in [(DType.bfloat16, 0x1p-9), (.float16, 0x1p-12)] {
            manualSeed(123)
            let model = GPTModel(cfg)
            let idx = Tensor.randint(0, cfg.vocabSize, [2, 12])
            let reference = noGrad { model.eval()(idx) }
            let scale = reference.abs().max().item()
            let diff = model.castForInference(to: dtype, comparingLogitsOn: idx)!
            XCTAssertEqual(model.out_head.weight.dtype, dtype)
            let cast = noGrad { model(idx) }
            XCTAssertEqual(cast.dtype, dtype)
            XCTAssertEqual(diff, InferenceDType.maxAbsDifference(reference, cast), "reported difference is the measured one")
            let tol = 32 * unitRoundoff * scale
            XCTAssertLessThanOrEqual(diff, tol, "\(dtype): max |Δlogit| \(diff) > \(tol) (max |logit| \(scale))")
            XCTAssertGreaterThan(diff, 0, "\(dtype) logits are really computed in \(dtype)")
        }
    }

    /// The book's greedy loop (`generate_text_simple`) on a seeded model, float32 vs bfloat16.
    /// Rule: if every bf16 logit is within d of its float32 value and float32's best logit leads
    /// the runner-up by more than 2d, bf16 picks the same token. Along the float32 sequence we
    /// measure d and the margin at each step; the tokens must agree over the leading steps that
    /// satisfy the rule; seed and prompt are chosen so that all 8 do (we require at least 6, so a
    /// change of float32 rounding elsewhere does not make the test flaky).
    func testGreedyGenerationAgreesWithFloat32() {
        let steps = 8
        let bigger = cfg.with(vocabSize: 50, embDim: 64)
        func seeded() -> GPTModel {
            manualSeed(123)
            let m = GPTModel(bigger).eval()
            // Larger output weights spread the logits out (clearer argmax margins).
            _ = noGrad { m.out_head.weight.mul_(8.0) }
            return m
        }
        let f32Model = seeded(), bf16Model = seeded()
        bf16Model.castForInference(to: .bfloat16)
        let prompt = Tensor([[10, 20, 30, 40]])
        let f32 = generateTextSimple(model: f32Model, idx: prompt, maxNewTokens: steps, contextSize: bigger.contextLength)
        var safe = 0
        var notes: [String] = []
        for s in 0..<steps {
            let context = f32.slice(1, start: 0, end: 4 + s)
            let logits = noGrad { f32Model(context) }.select(1, 3 + s)
            let logitsBF16 = noGrad { bf16Model(context) }.select(1, 3 + s)
            let d = InferenceDType.maxAbsDifference(logits, logitsBF16)
            let top = logits.topk(2).values.toDoubles()
            notes.append(String(format: "step %d: margin %.4f, d %.4f", s, top[0] - top[1], d))
            guard top[0] - top[1] > 2 * d else { break }
            safe += 1
        }
        XCTAssertGreaterThanOrEqual(safe, 6, "too few steps with a clear float32 margin: \(notes)")
        let bf16 = generateTextSimple(model: bf16Model, idx: prompt, maxNewTokens: steps, contextSize: bigger.contextLength)
        XCTAssertEqual(Array(bf16.toInt64s().prefix(4 + safe)), Array(f32.toInt64s().prefix(4 + safe)),
                       "greedy tokens of bf16 vs float32 over the \(safe) steps with a clear margin (\(notes))")
    }

    func testDTypeNames() {
        XCTAssertEqual(InferenceDType.named("bf16"), .bfloat16)
        XCTAssertEqual(InferenceDType.named("BFloat16"), .bfloat16)
        XCTAssertEqual(InferenceDType.named("f16"), .float16)
        XCTAssertEqual(InferenceDType.named("half"), .float16)
        XCTAssertEqual(InferenceDType.named("f32"), .float32)
        XCTAssertNil(InferenceDType.named("int8"))
    }
}
