import EmberCore
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// The book's chapter 5.5 on loaded weights: `load_weights_into_gpt` then `generate`, against the
/// `finetune` fixture's `weight_loading` section (the book's own code run by PyTorch 2.15 on a tiny
/// GPT-2 checkpoint — the hf-gpt2 fixture's `model/` directory, 13 MB, read from the shared folder).
final class PretrainedGenerationTests: XCTestCase {
    struct Case {
        let model: GPTModel
        let section: [String: Any]
    }

    static func fixture() throws -> Case {
        let expectedURL = try SharedFolder.file("fixtures/finetune/expected.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: expectedURL)) as? [String: Any])
        let section = jsonObject(root["weight_loading"])
        // The book's assign(): tok_emb and out_head two Parameters with equal values (not tied).
        let model = try GPTModel.fromPretrained(try SharedFolder.file("fixtures/hf-gpt2/model"), tieWeights: false)
        return Case(model: model, section: section)
    }

    func testLoadedModelMatchesTheBookConfigAndLogits() throws {
        let c = try Self.fixture()
        let book = jsonObject(c.section["book_config"])
        XCTAssertEqual(c.model.config, GPTConfig(vocabSize: book["vocab_size"] as! Int, contextLength: book["context_length"] as! Int,
                                                 embDim: book["emb_dim"] as! Int, nHeads: book["n_heads"] as! Int,
                                                 nLayers: book["n_layers"] as! Int, dropRate: jsonDouble(book["drop_rate"]),
                                                 qkvBias: book["qkv_bias"] as! Bool))
        XCTAssertFalse(c.model.out_head.weight === c.model.tok_emb.weight)
        XCTAssertTrue(c.model.out_head.weight.equal(c.model.tok_emb.weight))
        for prompt in c.section["prompts"] as! [Any] {
            let p = jsonObject(prompt)
            let ids = jsonInts(p["ids"])
            let logits = noGrad { c.model(PretrainedTests.batch([ids])) }
            let summary = jsonObject(p["logits"])
            let probes = jsonInts(summary["probe_ids"])
            for pos in summary["positions"] as! [Any] {
                let q = jsonObject(pos)
                let t = q["t"] as! Int
                let row = logits[0, t].toDoubles()
                let label = "'\(p["text"] as! String)' position \(t)"
                XCTAssertEqual(row.indices.max { row[$0] < row[$1] }, q["argmax"] as? Int, "\(label): argmax")
                assertClose(Array(row.prefix(4)), jsonDoubles(q["first4"]), rtol: 1e-5, atol: 1e-5, "\(label): first4")
                assertClose(probes.map { row[$0] }, jsonDoubles(q["at_probe_ids"]), rtol: 1e-5, atol: 1e-5, "\(label): probe ids")
                let top = row.max()!
                let lse = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
                XCTAssertEqual(lse, jsonDouble(q["logsumexp_f64"]), accuracy: 1e-4, "\(label): logsumexp")
            }
            let last = logits[0, ids.count - 1].toDoubles()
            assertClose(stride(from: 0, to: 50257, by: 97).map { last[$0] }, jsonDoubles(jsonObject(p["last_position_every_97th"])["values"]),
                        rtol: 1e-5, atol: 1e-5, "last position, every 97th id")
        }
    }

    func testGreedySampledAndEOSContinuationsEqualPyTorchTokenForToken() throws {
        let c = try Self.fixture()
        for prompt in c.section["prompts"] as! [Any] {
            let p = jsonObject(prompt)
            let idx = PretrainedTests.batch([jsonInts(p["ids"])])
            let text = p["text"] as! String
            func ids(_ t: Tensor) -> [Int] { t.toInt64s().map(Int.init) }
            for useCache in [false, true] {
                XCTAssertEqual(ids(generate(model: c.model, idx: idx, maxNewTokens: 10, contextSize: 64, useCache: useCache)),
                               jsonInts(jsonObject(p["greedy_10"])["output_ids"]), "\(text): greedy_10 (cache \(useCache))")
                let eos = jsonObject(p["greedy_eos"])
                XCTAssertEqual(ids(generate(model: c.model, idx: idx, maxNewTokens: 10, contextSize: 64, eosId: eos["eos_id"] as? Int, useCache: useCache)),
                               jsonInts(eos["output_ids"]), "\(text): greedy_eos (cache \(useCache))")
                manualSeed(123)
                XCTAssertEqual(ids(generate(model: c.model, idx: idx, maxNewTokens: 15, contextSize: 64, temperature: 1.4, topK: 25, useCache: useCache)),
                               jsonInts(jsonObject(p["sample_t1.4_k25"])["output_ids"]), "\(text): t 1.4, top-k 25 (cache \(useCache))")
                manualSeed(123)
                XCTAssertEqual(ids(generate(model: c.model, idx: idx, maxNewTokens: 25, contextSize: 64, temperature: 1.0, topK: 50, useCache: useCache)),
                               jsonInts(jsonObject(p["sample_t1.0_k50"])["output_ids"]), "\(text): t 1.0, top-k 50 (cache \(useCache))")
            }
        }
        // A prompt longer than the context: generate feeds only idx[:, -64:].
        let verdict = try GPTFixture.verdictIds()
        let long = PretrainedTests.batch([Array(verdict.prefix(70))])
        let out = generate(model: c.model, idx: long, maxNewTokens: 5, contextSize: 64)
        XCTAssertEqual(Array(out.toInt64s().map(Int.init).suffix(5)), jsonInts(jsonObject(c.section["long_prompt_crop"])["new_ids"]))
    }

    /// When `EMBER_GPT2_DIR` points at the real gpt2-small (a Hugging Face directory or the book's
    /// `gpt2-small-124M.pth`), the book's greedy sentence of chapter 5.5.
    func testRealGPT2SmallGivesTheBooksGreedyText() throws {
        guard let path = ProcessInfo.processInfo.environment["EMBER_GPT2_DIR"] else {
            throw XCTSkip("EMBER_GPT2_DIR is not set (the real GPT-2 weights cannot be downloaded here)")
        }
        let model = try GPTModel.fromPretrained(URL(fileURLWithPath: path))
        let tokenizer = try GPT2Tokenizer.gpt2()
        let idx = try textToTokenIds("Every effort moves you", tokenizer: tokenizer)
        let out = generate(model: model, idx: idx, maxNewTokens: 15, contextSize: model.config.contextLength)
        XCTAssertEqual(try tokenIdsToText(out, tokenizer: tokenizer),
                       "Every effort moves you forward.\n\nThe first step is to understand the importance of your work")
    }
}
