import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// Appendix E (LoRA) against the `finetune` fixture's `appendix_e_lora` section: the book's notebook
/// run by PyTorch 2.15 on the tiny GPT-2 checkpoint (hf-gpt2 fixture's `model/`, read from the shared
/// folder): parameter counts, every `A` drawn as PyTorch draws it, outputs unchanged after wrapping,
/// merged equal to unmerged.
final class LoRATests: XCTestCase {
    /// The fixture's model with the book's new head: `manualSeed(123)`; `out_head = Linear(64, 2)`.
    static func fixture() throws -> (model: GPTModel, section: [String: Any]) {
        let expectedURL = try SharedFolder.file("fixtures/finetune/expected.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL)) as? [String: Any])
        let model = try GPTModel.fromPretrained(try SharedFolder.file("fixtures/hf-gpt2/model"), tieWeights: false)
        model.eval()
        manualSeed(123)
        model.out_head = Linear(64, 2)
        return (model, jsonObject(root["appendix_e_lora"]))
    }

    static func sha256(_ t: Tensor) -> String {
        SHA256Digest.hex(t.contiguous().toFloats().withUnsafeBytes { Data($0) })
    }

    static let ids = PretrainedTests.batch([[6109, 3626, 6100, 345, 2, 50256], [5195, 345, 423, 640, 11, 13]])

    /// The notebook's sequence: counts before and after freezing, `replace_linear_with_lora(rank 16,
    /// alpha 16)` with the generator where the notebook left it (`manual_seed(123)` + the 4 int64 seed
    /// draws of its three accuracy passes), every `A` bit for bit, `B` zero, logits unchanged.
    func testReplaceLinearWithLoRAMatchesTheNotebook() throws {
        let (model, section) = try Self.fixture()
        let head = jsonObject(jsonObject(section["head_init"])["weight"])
        XCTAssertEqual(Self.sha256(model.out_head.weight), head["sha256"] as? String, "head_init weight")
        let counts = jsonObject(section["param_counts"])
        XCTAssertEqual(model.numParameters(trainableOnly: true), counts["trainable_before"] as? Int)
        let before = noGrad { model(Self.ids) }.toFloats()
        model.requiresGrad_(false)
        XCTAssertEqual(model.numParameters(trainableOnly: true), counts["trainable_after_freeze"] as? Int)

        manualSeed(123)
        for _ in 0..<4 { _ = Generator.default.nextNonNegativeInt64() }   // the accuracy passes' loader seeds
        let paths = try replaceLinearWithLoRA(model, rank: 16, alpha: 16)
        XCTAssertEqual(model.numParameters(trainableOnly: true), counts["trainable_lora"] as? Int)
        XCTAssertEqual(model.numParameters(), counts["total_after_lora"] as? Int)

        let expected = section["lora_modules_in_order"] as! [Any]
        XCTAssertEqual(paths, expected.map { jsonObject($0)["module"] as! String })
        let modules = Dictionary(uniqueKeysWithValues: model.namedModules())
        for e in expected.map(jsonObject) {
            let path = e["module"] as! String
            let layer = try XCTUnwrap(modules[path] as? LinearWithLoRA, path)
            let a = jsonObject(e["A"])
            XCTAssertEqual(layer.lora.A.shape, jsonInts(a["shape"]), "\(path).lora.A shape")
            XCTAssertEqual(Self.sha256(layer.lora.A), a["sha256"] as? String, "\(path).lora.A sha256")
            // The fixture writes the shortest decimal that gives the float32 back: compare as Float.
            XCTAssertEqual(Array(layer.lora.A.toFloats().prefix(4)), jsonDoubles(a["first4"]).map { Float($0) }, "\(path).lora.A first4")
            XCTAssertEqual(layer.lora.B.shape, [16, e["out"] as! Int], "\(path).lora.B shape")
            XCTAssertTrue(layer.lora.B.toFloats().allSatisfy { $0 == 0 }, "\(path).lora.B is zero")
            XCTAssertTrue(layer.lora.A.requiresGrad && layer.lora.B.requiresGrad && !layer.linear.weight.requiresGrad, path)
        }
        XCTAssertEqual(noGrad { model(Self.ids) }.toFloats(), before, "outputs unchanged right after wrapping (B = 0)")
    }

    /// State-dict keys are the book's (`…W_query.linear.weight`, `…W_query.lora.A`) and load both ways.
    func testStateDictKeysAndRoundTrip() throws {
        let (model, _) = try Self.fixture()
        model.requiresGrad_(false)
        manualSeed(1)
        try replaceLinearWithLoRA(model, rank: 4, alpha: 8)
        let sd = model.stateDict()
        for key in ["trf_blocks.0.att.W_query.linear.weight", "trf_blocks.0.att.W_query.linear.bias", "trf_blocks.0.att.W_query.lora.A",
                    "trf_blocks.0.att.W_query.lora.B", "trf_blocks.1.ff.layers.2.lora.B", "out_head.linear.weight", "out_head.linear.bias", "out_head.lora.A"] {
            XCTAssertNotNil(sd[key], key)
        }
        XCTAssertNil(sd["trf_blocks.0.att.W_query.weight"])
        XCTAssertEqual(Array(sd.keys.prefix(8)), ["tok_emb.weight", "pos_emb.weight", "trf_blocks.0.att.mask", "trf_blocks.0.att.W_query.linear.weight",
                                                  "trf_blocks.0.att.W_query.linear.bias", "trf_blocks.0.att.W_query.lora.A", "trf_blocks.0.att.W_query.lora.B",
                                                  "trf_blocks.0.att.W_key.linear.weight"])
        // Nonzero B, then into a second wrapped model drawn from another seed.
        manualSeed(2)
        for case let l as LinearWithLoRA in model.modules() { _ = noGrad { l.lora.B.normal_(0, 0.1) } }
        let (other, _) = try Self.fixture()
        manualSeed(3)
        try replaceLinearWithLoRA(other, rank: 4, alpha: 8)
        try other.loadStateDict(model.stateDict())
        XCTAssertEqual(noGrad { other(Self.ids) }.toFloats(), noGrad { model(Self.ids) }.toFloats())
        // A plain model's state dict does not fit the wrapped one: PyTorch's missing/unexpected keys.
        let (plain, _) = try Self.fixture()
        XCTAssertThrowsError(try other.loadStateDict(plain.stateDict())) { error in
            let e = error as? LoadStateDictError
            XCTAssertTrue(e?.missingKeys.contains("trf_blocks.0.att.W_query.lora.A") ?? false, "\(error)")
            XCTAssertTrue(e?.unexpectedKeys.contains("trf_blocks.0.att.W_query.weight") ?? false, "\(error)")
        }
    }

    /// Merged and unmerged logits agree to float32 rounding (the fixture's max_abs_diff was 2.9e-6),
    /// for the copy and the in-place merge; the merged model has the plain keys.
    func testMergedEqualsUnmerged() throws {
        let (model, section) = try Self.fixture()
        let plainKeys = Array(model.stateDict().keys)
        let plainLogits = noGrad { model(Self.ids) }.toFloats()
        model.requiresGrad_(false)
        manualSeed(123)
        try replaceLinearWithLoRA(model, rank: 16, alpha: 16)
        manualSeed(5)
        for case let l as LinearWithLoRA in model.modules() { _ = noGrad { l.lora.B.normal_(0, 0.05) } }
        let unmerged = noGrad { model(Self.ids) }
        XCTAssertNotEqual(unmerged.toFloats(), plainLogits, "B ≠ 0 changes the logits")
        let copy = try model.mergedLoRACopy()
        XCTAssertTrue(model.out_head is LinearWithLoRA, "the copy leaves the model unchanged")
        XCTAssertTrue(copy.out_head is Linear)
        XCTAssertEqual(Array(copy.stateDict().keys), plainKeys, "the book's plain keys")
        let bound = jsonDouble(jsonObject(section["merged_vs_unmerged"])["max_abs_diff"]) * 4
        assertClose(noGrad { copy(Self.ids) }.toDoubles(), unmerged.toDoubles(), rtol: 0, atol: bound, "merged copy vs unmerged")
        let merged = try mergeLoRA(model)
        XCTAssertEqual(merged.count, 13)
        XCTAssertEqual(noGrad { model(Self.ids) }.toFloats(), noGrad { copy(Self.ids) }.toFloats(), "in-place merge = merged copy")
        XCTAssertEqual(model.numParameters(), 3320770)
    }

    /// The book's count on GPT-2 small (124M) with a 2-class head, built on `meta` (nothing allocated):
    /// "Total trainable parameters before: 124,441,346", "… after: 0", "Total trainable LoRA parameters: 2,666,528".
    func testBookSizedCountsOnMeta() throws {
        let model = GPTModel(.gpt2(.small), device: .meta)     // the book's BASE_CONFIG: qkv biases (OpenAI's weights)
        model.out_head = Linear(768, 2, device: .meta)
        XCTAssertEqual("Total trainable parameters before: \(formatThousands(model.numParameters(trainableOnly: true)))",
                       "Total trainable parameters before: 124,441,346")
        model.requiresGrad_(false)
        XCTAssertEqual(model.numParameters(trainableOnly: true), 0)
        try replaceLinearWithLoRA(model, rank: 16, alpha: 16)
        XCTAssertEqual("Total trainable LoRA parameters: \(formatThousands(model.numParameters(trainableOnly: true)))",
                       "Total trainable LoRA parameters: 2,666,528")
        XCTAssertTrue(model.parameters().allSatisfy(\.isMeta))
    }
}
