import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import Foundation
import OrderedCollections
import XCTest

/// LoRA adapters in PEFT's format (`adapter_config.json` + `adapter_model.safetensors`) on the book's
/// `GPTModel`, against Fixtures/peft_lora (written by PEFT 0.22 / PyTorch 2.15 with make_fixture.py:
/// a tiny GPTModel, the chapter-6 head, r 4, lora_alpha 8, nonzero B) and, when Python with peft is
/// available (`EMBER_PYTHON` or `python3`), loaded back by PEFT itself.
final class PEFTAdapterTests: XCTestCase {
    static var folder: URL {
        get throws {
            let url = try XCTUnwrap(Bundle.module.resourceURL).appendingPathComponent("Fixtures/peft_lora")
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent("expected.json").path) else {
                throw XCTSkip("Fixtures/peft_lora is missing")
            }
            return url
        }
    }

    static func expected() throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected.json"))) as? [String: Any])
    }

    /// book_gpt.py's base: `manualSeed(123); GPTModel(cfg); manualSeed(123); out_head = Linear(32, 2)`.
    static func baseModel() -> GPTModel {
        manualSeed(123)
        let model = GPTModel(GPTConfig(vocabSize: 96, contextLength: 16, embDim: 32, nHeads: 4, nLayers: 2, dropRate: 0, qkvBias: true))
        manualSeed(123)
        model.out_head = Linear(32, 2)
        return model.eval()
    }

    static func logits(_ model: GPTModel, _ e: [String: Any]) -> [Double] {
        let ids = (e["ids"] as! [Any]).map(jsonInts)
        return noGrad { model(Tensor(array: ids.flatMap { $0.map(Int64.init) }, shape: [ids.count, ids[0].count])) }.toDoubles()
    }

    func testAnAdapterWrittenByPEFTLoadsAndComputesPEFTsLogits() throws {
        let e = try Self.expected()
        let model = Self.baseModel()
        assertClose(Self.logits(model, e), jsonDoubles(jsonObject(e["logits_base"])["values"]), rtol: 1e-5, atol: 1e-6, "base model")
        let config = try PEFTAdapter.load(try Self.folder.appendingPathComponent("adapter"), into: model)
        XCTAssertEqual(config.r, 4)
        XCTAssertEqual(config.loraAlpha, 8)
        XCTAssertEqual(Set(config.targetModules ?? []), ["W_query", "W_key", "W_value", "out_proj", "layers.0", "layers.2", "out_head"])
        XCTAssertNil(config.taskType)
        XCTAssertEqual(loraLayers(of: model).map(\.path), e["lora_modules"] as? [String])
        XCTAssertTrue(loraLayers(of: model).allSatisfy { $0.layer.lora.scaling == 2 })
        assertClose(Self.logits(model, e), jsonDoubles(jsonObject(e["logits_unmerged"])["values"]), rtol: 1e-5, atol: 1e-6, "PEFT model")
        let merged = try model.mergedLoRACopy()
        assertClose(Self.logits(merged, e), jsonDoubles(jsonObject(e["logits_merged"])["values"]), rtol: 1e-5, atol: 1e-6, "merge_and_unload")
    }

    /// Ember's adapter: PEFT's keys and shapes (`lora_A.weight` `[r, in]`, `lora_B.weight` `[out, r]`),
    /// `{"format": "pt"}` metadata, a config PEFT reads; read back to the same factors and logits.
    func testEmberWritesPEFTsLayoutAndReadsItBack() throws {
        let e = try Self.expected()
        let model = Self.baseModel()
        manualSeed(9)
        try replaceLinearWithLoRA(model, rank: 3, alpha: 5)
        for (_, l) in loraLayers(of: model) { _ = noGrad { l.lora.B.normal_(0, 0.2) } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-peft-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.save(model, to: dir, baseModelNameOrPath: "openai-community/gpt2")

        let (tensors, metadata) = try loadSafetensors(dir.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertEqual(metadata, ["format": "pt"])
        XCTAssertEqual(tensors.count, 26)
        XCTAssertEqual(tensors["base_model.model.trf_blocks.0.ff.layers.0.lora_A.weight"]?.shape, [3, 32])
        XCTAssertEqual(tensors["base_model.model.trf_blocks.0.ff.layers.0.lora_B.weight"]?.shape, [128, 3])
        XCTAssertEqual(tensors["base_model.model.out_head.lora_B.weight"]?.shape, [2, 3])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(json["peft_type"] as? String, "LORA")
        XCTAssertEqual(json["r"] as? Int, 3)
        XCTAssertEqual(json["lora_alpha"] as? Int, 5)
        XCTAssertEqual(json["base_model_name_or_path"] as? String, "openai-community/gpt2")
        XCTAssertEqual(json["target_modules"] as? [String], e["lora_modules"] as? [String])
        XCTAssertEqual(json["bias"] as? String, "none")

        let reloaded = Self.baseModel()
        try PEFTAdapter.load(dir, into: reloaded)
        XCTAssertEqual(Self.logits(reloaded, e), Self.logits(model, e))
        for ((p, a), (q, b)) in zip(loraLayers(of: model), loraLayers(of: reloaded)) {
            XCTAssertEqual(p, q)
            XCTAssertEqual(a.lora.A.toFloats(), b.lora.A.toFloats(), p)
            XCTAssertEqual(a.lora.B.toFloats(), b.lora.B.toFloats(), p)
            XCTAssertEqual(b.lora.alpha, 5, p)
        }
    }

    /// The book's keys: `….lora.A` / `….lora.B` only, saved as safetensors and loaded into a fresh base.
    func testBookKeysSaveAndLoad() throws {
        let e = try Self.expected()
        let model = Self.baseModel()
        manualSeed(4)
        try replaceLinearWithLoRA(model, rank: 2, alpha: 4)
        for (_, l) in loraLayers(of: model) { _ = noGrad { l.lora.B.normal_(0, 0.2) } }
        let sd = loraStateDict(model)
        XCTAssertEqual(Array(sd.keys.prefix(3)), ["trf_blocks.0.att.W_query.lora.A", "trf_blocks.0.att.W_query.lora.B", "trf_blocks.0.att.W_key.lora.A"])
        XCTAssertEqual(sd.keys.last, "out_head.lora.B")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ember-lora-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try saveSafetensors(sd, to: file)
        let fresh = Self.baseModel()
        XCTAssertThrowsError(try loadLoRAStateDict(try loadSafetensors(file).tensors, into: fresh), "alpha is needed for plain Linears")
        XCTAssertTrue(loraLayers(of: fresh).isEmpty, "nothing changed on error")
        try loadLoRAStateDict(try loadSafetensors(file).tensors, into: fresh, alpha: 4)
        XCTAssertEqual(Self.logits(fresh, e), Self.logits(model, e))
    }

    /// Bad adapters are refused with the file and the reason, and the model is unchanged.
    func testBadAdaptersAreRefusedWithNothingChanged() throws {
        let e = try Self.expected()
        let source = try Self.folder.appendingPathComponent("adapter")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-peft-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let weights = try loadSafetensors(source.appendingPathComponent("adapter_model.safetensors")).tensors
        let configText = try String(contentsOf: source.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        func write(config: String, tensors: OrderedDictionary<String, Tensor>) throws {
            try config.write(to: dir.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
            try saveSafetensors(tensors, to: dir.appendingPathComponent("adapter_model.safetensors"))
        }
        func assertRefused(_ fragment: String, line: UInt = #line) {
            let model = Self.baseModel()
            let before = Self.logits(model, e)
            XCTAssertThrowsError(try PEFTAdapter.load(dir, into: model), line: line) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
            XCTAssertTrue(loraLayers(of: model).isEmpty, line: line)
            XCTAssertEqual(Self.logits(model, e), before, line: line)
        }
        XCTAssertThrowsError(try PEFTAdapter.load(dir, into: Self.baseModel())) { XCTAssertTrue("\($0)".contains("adapter_config.json"), "\($0)") }
        try write(config: configText.replacingOccurrences(of: "\"use_dora\": false", with: "\"use_dora\": true"), tensors: weights)
        assertRefused("use_dora")
        var renamed = weights
        renamed["base_model.model.trf_blocks.7.att.W_query.lora_A.weight"] = weights["base_model.model.out_head.lora_A.weight"]!.clone()
        renamed["base_model.model.trf_blocks.7.att.W_query.lora_B.weight"] = weights["base_model.model.out_head.lora_B.weight"]!.clone()
        try write(config: configText, tensors: renamed)
        assertRefused("trf_blocks.7.att.W_query")
        var lonely = weights
        lonely.removeValue(forKey: "base_model.model.out_head.lora_B.weight")
        try write(config: configText, tensors: lonely)
        assertRefused("out_head.lora_B.weight")
        try write(config: configText.replacingOccurrences(of: "\"r\": 4", with: "\"r\": 5"), tensors: weights)
        assertRefused("shape")
    }

    /// An adapter written by Ember loads in Python's peft (`PeftModel.from_pretrained`) on the book's
    /// GPTModel and gives Ember's logits. Skipped without python + torch + peft (CI has no Python).
    func testAnAdapterWrittenByEmberLoadsInPEFT() throws {
        let e = try Self.expected()
        let python = try Self.pythonWithPEFT()
        let model = Self.baseModel()
        manualSeed(11)
        try replaceLinearWithLoRA(model, rank: 4, alpha: 16)
        for (_, l) in loraLayers(of: model) { _ = noGrad { l.lora.B.normal_(0, 0.1) } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-peft-py-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PEFTAdapter.save(model, to: dir)
        let logitsFile = dir.appendingPathComponent("ember_logits.json")
        try JSONSerialization.data(withJSONObject: ["ids": e["ids"]!, "logits": Self.logits(model, e)]).write(to: logitsFile)
        let (status, output) = try Self.run(python, [try Self.folder.appendingPathComponent("check_ember_adapter.py").path, dir.path, logitsFile.path])
        XCTAssertEqual(status, 0, output)
        let report = try XCTUnwrap(output.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, output)
        XCTAssertEqual(report["lora_modules"] as? [String], e["lora_modules"] as? [String])
        XCTAssertLessThanOrEqual(jsonDouble(report["max_abs_diff"]), 1e-5)
    }

    /// `EMBER_PYTHON`, else `python3` on PATH, if it imports torch and peft.
    static func pythonWithPEFT() throws -> String {
        let python = ProcessInfo.processInfo.environment["EMBER_PYTHON"] ?? "python3"
        guard let probe = try? run(python, ["-c", "import torch, peft"]), probe.status == 0 else {
            throw XCTSkip("no Python with torch and peft (set EMBER_PYTHON): the PEFT interoperability check is skipped")
        }
        return python
    }

    /// Runs `python` (through `/usr/bin/env`) and returns its status and combined output.
    static func run(_ python: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
