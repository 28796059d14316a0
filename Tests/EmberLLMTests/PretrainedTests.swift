import EmberCore
import EmberIO
import EmberNN
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest
@testable import EmberLLM

/// Pretrained GPT-2 weights (book chapter 5.5): the presets and parameter counts (case C34), the
/// Hugging Face → book mapping checked against transformers' logits (fixtures hf-gpt2 and finetune,
/// made with torch + transformers; see Fixtures/hf-gpt2-tiny/README.md), every file layout, errors.
final class PretrainedTests: XCTestCase {
    // MARK: - Presets (case C34: the book's chapter 4.6 and exercise 4.2 printouts)

    func testGPT2PresetsAndParameterCountsAsTheBookPrintsThem() {
        XCTAssertEqual(GPTConfig.gpt2Small124M.parameterCount, 163_009_536)
        XCTAssertEqual(GPTConfig.gpt2Small124M.parameterCountWithWeightTying, 124_412_160)
        let noBias = { (s: GPT2Size) in GPTConfig.gpt2(s).with(qkvBias: false) }
        XCTAssertEqual(noBias(.medium).parameterCount, 406_212_608)
        XCTAssertEqual(noBias(.medium).parameterCountWithWeightTying, 354_749_440)
        XCTAssertEqual(noBias(.large).parameterCount, 838_220_800)
        XCTAssertEqual(noBias(.large).parameterCountWithWeightTying, 773_891_840)
        XCTAssertEqual(noBias(.xl).parameterCount, 1_637_792_000)
        XCTAssertEqual(noBias(.xl).parameterCountWithWeightTying, 1_557_380_800)
        XCTAssertEqual(GPTConfig.gpt2(.small).parameterCount, 163_037_184)   // qkv_bias True (C34)
        // The count equals the model's own (built on meta: shapes only).
        for size in GPT2Size.allCases {
            let cfg = GPTConfig.gpt2(size)
            XCTAssertEqual(cfg.contextLength, 1024)
            XCTAssertTrue(cfg.qkvBias)
            XCTAssertEqual(cfg.dropRate, 0.0)
            XCTAssertEqual(GPTModel(cfg, device: .meta).parameters().reduce(0) { $0 + $1.numel }, cfg.parameterCount, "\(size)")
        }
        XCTAssertEqual(GPT2Size(named: "gpt2-medium (355M)"), .medium)
        XCTAssertEqual(GPT2Size(named: "gpt2-xl"), .xl)
        XCTAssertEqual(GPT2Size(named: "774M"), .large)
        XCTAssertEqual(GPT2Size(named: "openai-community/gpt2"), .small)
        XCTAssertEqual(GPT2Size(named: "gpt2"), .small)
        XCTAssertNil(GPT2Size(named: "gpt3"))
        XCTAssertEqual(GPT2Size.large.hubRepoId, "openai-community/gpt2-large")
    }

    // MARK: - The Hub layout (tiny, in the repository)

    static func tinyDir() throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/hf-gpt2-tiny", withExtension: nil) else {
            throw XCTSkip("Fixtures/hf-gpt2-tiny is missing from the test bundle")
        }
        return url
    }

    static func tinyExpected() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: tinyDir().appendingPathComponent("expected.json"))) as? [String: Any])
    }

    static func batch(_ rows: [[Int]]) -> Tensor {
        Tensor(array: rows.flatMap { $0.map(Int64.init) }, shape: [rows.count, rows[0].count])
    }

    /// The logits of the tiny model for the fixture's batch, checked against transformers' values.
    static func assertTinyLogits(_ model: GPTModel, _ label: String, tolerance: Double = 1e-5,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Self.tinyExpected()
        let batch = Self.batch((expected["batch"] as! [[Any]]).map { jsonInts($0) })
        let logits = noGrad { model(batch) }
        XCTAssertEqual(logits.shape, [2, 5, 300], label, file: file, line: line)
        assertClose(logits.toDoubles(), jsonDoubles(jsonObject(expected["hf_logits"])["values"]), rtol: 0, atol: tolerance,
                    "\(label): logits vs transformers", file: file, line: line)
    }

    func testHubLayoutDirectoryLoadsAndMatchesTransformers() throws {
        let model = try GPTModel.fromPretrained(try Self.tinyDir())
        XCTAssertEqual(model.config, GPTConfig(vocabSize: 300, contextLength: 16, embDim: 16, nHeads: 2, nLayers: 2, dropRate: 0, qkvBias: true))
        XCTAssertFalse(model.isTraining)
        try PretrainedTests.assertTinyLogits(model, "hub layout directory")
        // Tied as GPT2LMHeadModel: one Parameter, listed once.
        XCTAssertTrue(model.out_head.weight === model.tok_emb.weight)
        XCTAssertEqual(model.parameters().count, model.namedParameters().count)
        XCTAssertEqual(model.parameters().reduce(0) { $0 + $1.numel }, model.config.parameterCountWithWeightTying)
    }

    func testEveryMappedTensorIsBitExact() throws {
        // The mapping is pure data movement: sha256 of the book-layout tensors equal PyTorch's
        // (hf-gpt2 expected.json `mapping.mapped_tensors`, shared fixture: 13 MB).
        let dir = try SharedFolder.file("fixtures/hf-gpt2/model")
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.deletingLastPathComponent().appendingPathComponent("expected.json"))) as? [String: Any])
        let mapped = jsonObject(jsonObject(expected["mapping"])["mapped_tensors"])
        let model = try GPTModel.fromPretrained(dir, tieWeights: false)
        let sd = model.stateDict()
        XCTAssertFalse(mapped.isEmpty)
        for (key, info) in mapped {
            let t = try XCTUnwrap(sd[key], "book key \(key)")
            let bytes = t.contiguous().toArray(Float.self).withUnsafeBytes { Data($0) }
            XCTAssertEqual(SHA256Digest.hex(bytes), jsonObject(info)["sha256"] as? String, "\(key): OK/maxdiff — the bytes differ")
        }
    }

    func testSavePretrainedDirectoryMatchesBookLogitsAndGreedyIds() throws {
        let dir = try SharedFolder.file("fixtures/hf-gpt2/model")
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.deletingLastPathComponent().appendingPathComponent("expected.json"))) as? [String: Any])
        let model = try GPTModel.fromPretrained(dir)
        XCTAssertEqual(model.config, GPTConfig(vocabSize: 50257, contextLength: 64, embDim: 64, nHeads: 4, nLayers: 2, dropRate: 0, qkvBias: true))
        let batch = Self.batch((expected["batch"] as! [[Any]]).map { jsonInts($0) })
        let logits = noGrad { model(batch) }
        XCTAssertEqual(logits.shape, [2, 4, 50257])
        let hf = jsonObject(expected["hf_logits"])
        let probes = jsonInts(hf["probe_ids"])
        for pos in hf["positions"] as! [Any] {
            let p = jsonObject(pos)
            let (b, t) = (jsonDouble(p["b"]), jsonDouble(p["t"]))
            let row = logits[Int(b), Int(t)]
            let values = row.toDoubles()
            XCTAssertEqual(row.argmax().item(), jsonDouble(p["argmax"]), "argmax at (\(b), \(t))")
            assertClose(Array(values.prefix(8)), jsonDoubles(p["first8"]), rtol: 0, atol: 1e-5, "first8 at (\(b), \(t))")
            if let at = p["at_probe_ids"] {
                assertClose(probes.map { values[$0] }, jsonDoubles(at), rtol: 0, atol: 1e-5, "probe ids at (\(b), \(t))")
            }
            let top = (p["top10"] as! [[Any]]).map { (jsonInts([$0[0]])[0], jsonDouble($0[1])) }
            assertClose(top.map { values[$0.0] }, top.map(\.1), rtol: 0, atol: 1e-5, "top-10 at (\(b), \(t))")
        }
        let greedy = jsonObject(expected["greedy"])
        let prompt = Self.batch([jsonInts(greedy["prompt_ids"])])
        let out = generateTextSimple(model: model, idx: prompt, maxNewTokens: 10, contextSize: 64)
        XCTAssertEqual(out.toInt64s().map(Int.init), jsonInts(expected["book_greedy_ids"]))
    }

    /// A forgotten transpose of a square matrix keeps every shape (nanoGPT #190): only the values
    /// show it. Dropping the `c_proj` transpose must move the logits far outside the tolerance.
    func testForgottenTransposeOfASquareMatrixIsCaught() throws {
        let raw = try GPTModel.readPretrainedTensors(try Self.tinyDir(), dropRate: 0)
        let cfg = try XCTUnwrap(raw.config)
        let wrong = GPT2WeightMap.table(nLayers: cfg.nLayers).map { e in
            e.hfKey.hasSuffix("attn.c_proj.weight") ? GPT2WeightMap.Entry(bookKey: e.bookKey, hfKey: e.hfKey, transform: .copy) : e
        }
        let sd = try GPTModel.mapHuggingFace(raw, config: cfg, table: wrong)   // shapes all fit: [16, 16]
        let model = GPTModel(cfg, device: .meta)
        try model.loadStateDict(sd, assign: true)
        model.eval()
        let expected = try Self.tinyExpected()
        let batch = Self.batch((expected["batch"] as! [[Any]]).map { jsonInts($0) })
        let diff = InferenceDType.maxAbsDifference(noGrad { model(batch) },
                                                   Tensor(array: jsonDoubles(jsonObject(expected["hf_logits"])["values"]).map { Float($0) }, shape: [2, 5, 300]))
        XCTAssertGreaterThan(diff, 1e-2, "a missing transpose must not go unnoticed")
    }

    func testTiedHeadSharesTheGradientStep() throws {
        // rasbt/LLMs-from-scratch #822: with tying, a step on the embedding is the head's step.
        let model = try GPTModel.fromPretrained(try Self.tinyDir())
        model.train()
        let before = model.out_head.weight.clone()
        let logits = model(Self.batch([[1, 2, 3]]))
        crossEntropy(logits.flatten(0, 1), Tensor(array: [Int64(2), 3, 4], shape: [3])).backward()
        let opt = SGD(model.parameters(), lr: 0.5)
        opt.step()
        XCTAssertFalse(model.out_head.weight.equal(before), "the tied head moved with the embedding")
        XCTAssertTrue(model.out_head.weight.equal(model.tok_emb.weight))
        // Untied (the book's load_weights_into_gpt): two Parameters with equal values.
        let untied = try GPTModel.fromPretrained(try Self.tinyDir(), tieWeights: false)
        XCTAssertFalse(untied.out_head.weight === untied.tok_emb.weight)
        XCTAssertTrue(untied.out_head.weight.equal(untied.tok_emb.weight))
    }

    // MARK: - Other layouts: shards, pytorch_model.bin, the book's files

    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-pretrained-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testShardedSafetensorsAndPytorchModelBinLoadTheSame() throws {
        let src = try Self.tinyDir()
        let tensors = try loadSafetensors(src.appendingPathComponent("model.safetensors"), mapped: false).tensors
        // Shards with model.safetensors.index.json, keys with the transformer. prefix.
        let sharded = try tempDir()
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: sharded.appendingPathComponent("config.json"))
        var parts: [OrderedDictionary<String, Tensor>] = [[:], [:]]
        var weightMap: [String: String] = [:]
        for (i, (k, v)) in tensors.enumerated() {
            parts[i % 2]["transformer." + k] = v
            weightMap["transformer." + k] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, p) in parts.enumerated() {
            try saveSafetensors(p, to: sharded.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors"))
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": weightMap])
        try index.write(to: sharded.appendingPathComponent("model.safetensors.index.json"))
        try PretrainedTests.assertTinyLogits(try GPTModel.fromPretrained(sharded), "sharded safetensors")

        // pytorch_model.bin (a torch.save'd state dict) through the safe .pth reader.
        let bin = try tempDir()
        try FileManager.default.copyItem(at: src.appendingPathComponent("config.json"), to: bin.appendingPathComponent("config.json"))
        try save(tensors, to: bin.appendingPathComponent("pytorch_model.bin"))
        try PretrainedTests.assertTinyLogits(try GPTModel.fromPretrained(bin), "pytorch_model.bin")
    }

    func testBookLayoutFilesLoadAsTheyAre() throws {
        let model = try GPTModel.fromPretrained(try Self.tinyDir(), tieWeights: false)
        let dir = try tempDir()
        // The book's converted .pth (book keys, att.mask included) and a .safetensors without masks.
        let pth = dir.appendingPathComponent("gpt2-tiny.pth")
        try save(model.stateDict(), to: pth)
        var noMask = model.stateDict()
        for k in noMask.keys where k.hasSuffix(".att.mask") { noMask[k] = nil }
        let st = dir.appendingPathComponent("gpt2-tiny.safetensors")
        try saveSafetensors(noMask.mapValues { $0.contiguous() }, to: st)
        for url in [pth, st] {
            // The head count of a non-GPT-2 width cannot be read off shapes: a clear error without a config.
            XCTAssertThrowsError(try GPTModel.fromPretrained(url)) { error in
                XCTAssertTrue("\(error)".contains("n_heads is unknown"), "\(error)")
            }
            let loaded = try GPTModel.fromPretrained(url, config: model.config)
            try PretrainedTests.assertTinyLogits(loaded, url.lastPathComponent)
        }
        // A plain load + loadStateDict also works as the book does it.
        let fresh = GPTModel(model.config)
        try fresh.loadStateDict(load(pth))
        fresh.eval()
        try PretrainedTests.assertTinyLogits(fresh, "load + loadStateDict")
    }

    // MARK: - Errors name the file and the key

    func testClearErrorsForBadDirectories() throws {
        let src = try Self.tinyDir()
        let tensors = try loadSafetensors(src.appendingPathComponent("model.safetensors"), mapped: false).tensors
        let config = try String(contentsOf: src.appendingPathComponent("config.json"), encoding: .utf8)

        func dir(config c: String?, tensors t: OrderedDictionary<String, Tensor>?) throws -> URL {
            let d = try tempDir()
            if let c { try c.write(to: d.appendingPathComponent("config.json"), atomically: true, encoding: .utf8) }
            if let t { try saveSafetensors(t, to: d.appendingPathComponent("model.safetensors")) }
            return d
        }
        func expectError(_ url: URL, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try GPTModel.fromPretrained(url), file: file, line: line) { error in
                for f in fragments { XCTAssertTrue("\(error)".contains(f), "'\(error)' lacks '\(f)'", file: file, line: line) }
            }
        }
        expectError(try dir(config: nil, tensors: tensors), ["config.json"])
        expectError(try dir(config: config, tensors: nil), ["model.safetensors"])
        expectError(try dir(config: config.replacingOccurrences(of: "\"gpt2\"", with: "\"llama\""), tensors: tensors), ["model_type", "llama"])
        expectError(try dir(config: config.replacingOccurrences(of: "\"gelu_new\"", with: "\"relu\""), tensors: tensors), ["relu"])
        expectError(try dir(config: config.replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 3"), tensors: tensors), ["h.2.attn.c_attn.weight", "model.safetensors"])
        expectError(try dir(config: config.replacingOccurrences(of: "\"vocab_size\": 300", with: "\"vocab_size\": 1099511627776"), tensors: tensors), ["vocab_size"])
        expectError(try dir(config: config.replacingOccurrences(of: "\"n_embd\": 16", with: "\"n_embd\": \"16\""), tensors: tensors), ["n_embd", "type"])
        var missing = tensors
        missing["h.1.mlp.c_fc.bias"] = nil
        expectError(try dir(config: config, tensors: missing), ["h.1.mlp.c_fc.bias"])
        var wrongShape = tensors
        wrongShape["h.0.attn.c_attn.weight"] = Tensor.zeros([16, 47])
        expectError(try dir(config: config, tensors: wrongShape), ["h.0.attn.c_attn.weight", "[16, 47]", "[16, 48]"])
        // A shard name that leaves the directory is refused before anything is opened.
        let evil = try dir(config: config, tensors: nil)
        try Data(#"{"weight_map": {"wte.weight": "../../etc/passwd"}}"#.utf8).write(to: evil.appendingPathComponent("model.safetensors.index.json"))
        expectError(evil, ["../../etc/passwd", "not a file name"])
        expectError(URL(fileURLWithPath: "/nonexistent/ember-model"), ["no such file"])
    }
}

/// `saveHuggingFace(to:)` (`ember export`): the way back to transformers.
final class HuggingFaceExportTests: XCTestCase {
    func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-export-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testExportRoundTripGivesTheSameLogits() throws {
        let model = try GPTModel.fromPretrained(try PretrainedTests.tinyDir())
        let dir = try tempDir()
        try model.saveHuggingFace(to: dir)
        let st = try loadSafetensors(dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(st.metadata, ["format": "pt"])
        XCTAssertEqual(st.tensors.keys.sorted(), try PretrainedTests.tinyExpected()["keys_sorted"].map { ($0 as! [String]).filter { !$0.hasSuffix("attn.bias") || $0.contains("c_attn") }.map { "transformer." + $0 }.sorted() })
        // Bit-exact: the export is the fixture's tensors, transposed back.
        let original = try loadSafetensors(PretrainedTests.tinyDir().appendingPathComponent("model.safetensors")).tensors
        for (k, v) in st.tensors { XCTAssertTrue(v.equal(original[String(k.dropFirst("transformer.".count))]!), k) }
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["model_type"] as? String, "gpt2")
        XCTAssertEqual(config["n_embd"] as? Int, 16)
        XCTAssertEqual(config["n_positions"] as? Int, 16)
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, true)
        try PretrainedTests.assertTinyLogits(try GPTModel.fromPretrained(dir), "exported and reloaded")
    }

    func testExportOfABookModelWithoutQKVBiasAndAnUntiedHead() throws {
        // `ember train`'s model: GPT_CONFIG_124M's qkv_bias False, out_head its own Parameter.
        manualSeed(123)
        let cfg = GPTConfig(vocabSize: 300, contextLength: 16, embDim: 16, nHeads: 2, nLayers: 2, dropRate: 0.1, qkvBias: false)
        let model = GPTModel(cfg)
        model.eval()
        let dir = try tempDir()
        try model.saveHuggingFace(to: dir)
        let st = try loadSafetensors(dir.appendingPathComponent("model.safetensors")).tensors
        XCTAssertNotNil(st["lm_head.weight"])
        XCTAssertTrue(st["transformer.h.0.attn.c_attn.bias"]!.equal(Tensor.zeros([48])))
        let reloaded = try GPTModel.fromPretrained(dir)
        XCTAssertFalse(reloaded.out_head.weight === reloaded.tok_emb.weight)
        let ids = PretrainedTests.batch([[1, 2, 3, 4], [5, 6, 7, 8]])
        XCTAssertLessThanOrEqual(InferenceDType.maxAbsDifference(noGrad { model(ids) }, noGrad { reloaded(ids) }), 1e-6)
    }

    /// transformers itself reads the export (runs where `python3 -c "import transformers"` works).
    func testTransformersLoadsTheExport() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import transformers, torch"]
        probe.standardError = FileHandle.nullDevice
        probe.standardOutput = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("python3 with transformers and torch is not installed") }
        let model = try GPTModel.fromPretrained(try PretrainedTests.tinyDir())
        let dir = try tempDir()
        try model.saveHuggingFace(to: dir)
        let script = """
        import sys, torch, transformers
        m = transformers.GPT2LMHeadModel.from_pretrained(sys.argv[1]).eval()
        with torch.no_grad():
            out = m(torch.tensor([[1, 2, 3, 4, 5], [299, 0, 150, 42, 7]])).logits
        print(" ".join(repr(float(v)) for v in out.flatten()))
        """
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = ["python3", "-c", script, dir.path]
        let pipe = Pipe()
        run.standardOutput = pipe
        try run.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        XCTAssertEqual(run.terminationStatus, 0)
        let values = String(decoding: data, as: UTF8.self).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let expected = jsonDoubles(jsonObject(try PretrainedTests.tinyExpected()["hf_logits"])["values"])
        assertClose(values, expected, rtol: 0, atol: 1e-5, "transformers on the export")
    }
}
