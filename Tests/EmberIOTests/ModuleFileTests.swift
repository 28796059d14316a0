import EmberCore
import EmberIO
import EmberNN
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest

/// Module state dicts through files: Linear / Embedding / Sequential round trips checked by pth_inspect.py,
/// the buffers notebook's files (Fixtures/buffers, torch 2.13) loaded into the notebook's classes with
/// expected.json's values and torch's exact strict-load messages, `mmap` + `assign`, `meta` modules
/// materialised from a file, and PyTorch's own module_state_dict.pth.
final class ModuleFileTests: XCTestCase {
    private var dir: URL!
    private var buffers: [String: Any]!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory()
        buffers = try BuffersFixture.json()
        Module.warnsAboutUnregisteredTensors = false
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: - Linear / Embedding / Sequential

    /// Keys `0.weight, 1.weight, 1.bias, 3.weight` (Sequential naming, the ReLU at index 2 has none), values
    /// and order as written; `state_dict()` tensors are saved detached (requires_grad false), as PyTorch does.
    func testSequentialOfEmbeddingAndLinearsRoundTrips() throws {
        manualSeed(1)
        let model = makeSequential()
        let url = dir.appendingPathComponent("seq.pth")
        try save(model.stateDict(), to: url)
        let report = try PthInspectTool.run(url)
        XCTAssertEqual(report.status, 0, report.stderr)
        let keys = ["0.weight", "1.weight", "1.bias", "3.weight"]
        let positions = keys.map { report.stdout.range(of: "\"\($0)\"")?.lowerBound }
        XCTAssertEqual(positions.compactMap { $0 }.count, 4, report.stdout)
        XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted(), "keys in state-dict order")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: [String: Any]])
        XCTAssertEqual(Set(json.keys), Set(keys))
        for (k, t) in model.stateDict() {
            XCTAssertEqual(json[k]?["sha256"] as? String, sha(t), k)
            XCTAssertEqual(json[k]?["requires_grad"] as? Bool, false, k)
        }

        manualSeed(2)
        let fresh = makeSequential()
        let before = fresh.parameters()
        let result = try fresh.loadStateDict(load(url))
        XCTAssertEqual(result.description, "<All keys matched successfully>")
        XCTAssertTrue(zip(before, fresh.parameters()).allSatisfy { $0 === $1 }, "copy mode keeps the parameter objects")
        assertSameState(fresh, model)
        let tokens = Tensor([[1, 2, 3], [9, 0, 4]])
        XCTAssertEqual(noGrad { fresh(tokens) }.toFloats(), noGrad { model(tokens) }.toFloats())

        // The same through safetensors.
        let st = dir.appendingPathComponent("seq.safetensors")
        try saveSafetensors(model.stateDict(), to: st)
        manualSeed(3)
        let third = makeSequential()
        try third.loadStateDict(loadSafetensors(st).tensors)
        assertSameState(third, model)
    }

    /// PyTorch's module_state_dict.pth (Sequential of emb/proj/norm/bn/head) into an Ember module without the
    /// BatchNorm: strict lists the five `bn.*` keys as unexpected; non-strict loads the rest bit for bit.
    func testPyTorchModuleStateDictLoadsIntoEmberLayers() throws {
        final class Net: Module {
            @Child var emb = Embedding(10, 4)
            @Child var proj = Linear(4, 6)
            @Child var norm = LayerNorm(6)
            @Child var head = Linear(6, 3, bias: false)
        }
        let net = Net()
        let sd = try load(Fixtures.url("pth/module_state_dict.pth"))
        XCTAssertThrowsError(try net.loadStateDict(sd)) { error in
            XCTAssertEqual("\(error)", "Error(s) in loading state_dict for Net:\n\tUnexpected key(s) in state_dict: \"bn.weight\", "
                + "\"bn.bias\", \"bn.running_mean\", \"bn.running_var\", \"bn.num_batches_tracked\". ")
        }
        let result = try net.loadStateDict(sd, strict: false)
        XCTAssertEqual(result.missingKeys, [])
        XCTAssertEqual(result.unexpectedKeys, ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        let expected = try pthFixtureTensors("module_state_dict.pth")
        for (k, t) in net.stateDict() {
            XCTAssertEqual(sha(t), expected["/" + k]?["sha256"] as? String, "\(k): bytes equal PyTorch's")
        }
    }

    // MARK: - The buffers notebook

    /// ca_with_buffer.pth into a new CausalAttentionWithBuffer: all keys match, the mask holds the 2.0s, the
    /// weights and the output equal expected.json; ca_without_buffer.pth into CausalAttentionWithoutBuffers
    /// leaves its plain mask of 1s.
    func testBuffersNotebookFilesLoadIntoBothClasses() throws {
        let with = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        let result = try with.loadStateDict(load(BuffersFixture.url("ca_with_buffer.pth")))
        let withInfo = try group("ca_with_buffer_pth")
        XCTAssertEqual(result.description, withInfo["load_state_dict_result"].flatMap { ($0 as? [String: Any])?["repr"] as? String })
        XCTAssertEqual(Array(with.stateDict().keys), ["mask", "W_query.weight", "W_key.weight", "W_value.weight"])
        try assertTensor(with.mask, withInfo["new_instance_mask_after_load"], "mask after load")
        let loaded = try XCTUnwrap((withInfo["loaded"] as? [String: Any])?["tensors"] as? [String: Any])
        for (k, t) in with.stateDict() { try assertTensor(t, loaded[k], "ca_with_buffer.pth \(k)") }
        let batch = try tensor(buffers["batch"])
        try assertTensor(noGrad { with(batch) }, withInfo["new_instance_output_after_load"], "output after load", tolerance: 1e-6)

        let without = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        let withoutInfo = try group("ca_without_buffer_pth")
        let r2 = try without.loadStateDict(load(BuffersFixture.url("ca_without_buffer.pth")))
        XCTAssertEqual(r2, IncompatibleKeys())
        XCTAssertEqual(Array(without.stateDict().keys), ["W_query.weight", "W_key.weight", "W_value.weight"])
        try assertTensor(without.mask, withoutInfo["new_instance_mask_after_load"], "plain mask after load")
        let loaded2 = try XCTUnwrap((withoutInfo["loaded"] as? [String: Any])?["tensors"] as? [String: Any])
        for (k, t) in without.stateDict() { try assertTensor(t, loaded2[k], "ca_without_buffer.pth \(k)") }
    }

    /// expected.json → strict_load_errors: torch's exact messages for the crossed loads and for a module of
    /// other shapes (every mismatch listed, mask first: own buffers come before children's parameters).
    /// A failed load changes nothing.
    func testBuffersNotebookStrictLoadErrorsAreTorchs() throws {
        let errors = try XCTUnwrap(buffers["strict_load_errors"] as? [String: String])
        let withFile = BuffersFixture.url("ca_with_buffer.pth"), withoutFile = BuffersFixture.url("ca_without_buffer.pth")
        let cases: [(Module, URL, String)] = [
            (CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0), withFile,
             "with_buffer_file_into_without_buffers_module"),
            (CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0), withoutFile,
             "without_buffer_file_into_with_buffer_module"),
            (CausalAttentionWithBuffer(dIn: 4, dOut: 2, contextLength: 7, dropout: 0), withFile,
             "with_buffer_file_into_module_with_d_in_plus_1_and_context_plus_1"),
        ]
        for (module, file, key) in cases {
            let before = module.stateDict().mapValues { bytes($0) }
            XCTAssertThrowsError(try module.loadStateDict(load(file)), key) { error in
                XCTAssertTrue(error is LoadStateDictError, key)
                XCTAssertEqual("\(error)", errors[key], key)
            }
            XCTAssertEqual(module.stateDict().mapValues { bytes($0) }, before, "\(key): the module is untouched")
        }
        // Non-strict: the missing / unexpected key is reported, the rest loads.
        let without = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        XCTAssertEqual(try without.loadStateDict(load(withFile), strict: false), IncompatibleKeys(unexpectedKeys: ["mask"]))
        let with = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        XCTAssertEqual(try with.loadStateDict(load(withoutFile), strict: false), IncompatibleKeys(missingKeys: ["mask"]))
        XCTAssertEqual(with.mask.toFloats(), Tensor.ones([6, 6]).triu(diagonal: 1).toFloats(), "the missing mask keeps its value")
    }

    /// The notebook's sequence from `manualSeed(123)` (expected.json → sequence): weights drawn in PyTorch's
    /// order, the file Ember saves equals PyTorch's ca_with_buffer.pth tensor for tensor, and the reloads.
    func testBuffersNotebookSequenceFromSeed123() throws {
        let batch = try tensor(buffers["batch"])
        manualSeed(123)
        let without = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        try assertStateDict(without, (buffers["ca_without_buffer"] as? [String: Any])?["state_dict"], "ca_without_buffer")
        try assertTensor(noGrad { without(batch) }, buffers["out_without_buffer"], "out_without_buffer", tolerance: 1e-6)
        let with = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        try assertStateDict(with, (buffers["ca_with_buffer"] as? [String: Any])?["state_dict"], "ca_with_buffer")
        try assertTensor(noGrad { with(batch) }, buffers["out_with_buffer"], "out_with_buffer", tolerance: 1e-6)
        try assertTensor(noGrad { with(batch[0..., ..<4]) }, buffers["out_with_buffer_short"], "out_with_buffer_short", tolerance: 1e-6)

        with.mask[with.mask == 1.0] = 2.0
        let url = dir.appendingPathComponent("ca_with_buffer.pth")
        try save(with.stateDict(), to: url)
        let ours = try XCTUnwrap(load(url).tensorDict), torchs = try XCTUnwrap(load(BuffersFixture.url("ca_with_buffer.pth")).tensorDict)
        XCTAssertEqual(Array(ours.keys), Array(torchs.keys))
        for (k, t) in ours { XCTAssertEqual(bytes(t), bytes(torchs[k]!), "\(k): Ember's file equals PyTorch's") }
        let report = try PthInspectTool.run(url)
        XCTAssertEqual(report.status, 0, report.stderr)

        let withInfo = try group("ca_with_buffer_pth")
        let newWith = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        try assertStateDict(newWith, withInfo["new_instance_state_dict_before_load"], "new_ca_with_buffer before load")
        try newWith.loadStateDict(load(url))
        try assertTensor(newWith.mask, withInfo["new_instance_mask_after_load"], "new mask after load")
        try assertTensor(noGrad { newWith(batch) }, withInfo["new_instance_output_after_load"], "output after load", tolerance: 1e-6)

        without.mask[without.mask == 1.0] = 2.0
        let url2 = dir.appendingPathComponent("ca_without_buffer.pth")
        try save(without.stateDict(), to: url2)
        let withoutInfo = try group("ca_without_buffer_pth")
        let newWithout = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        try assertStateDict(newWithout, withoutInfo["new_instance_state_dict_before_load"], "new_ca_without_buffer before load")
        try newWithout.loadStateDict(load(url2))
        try assertTensor(newWithout.mask, withoutInfo["new_instance_mask_after_load"], "plain mask is not in the file")
    }

    // MARK: - mmap + assign, meta, map_location

    /// `load(mmap: true)` + `loadStateDict(assign: true)`: the module's parameters borrow the mapped file
    /// (no copy), stay Parameters that require grad, and compute what the original computes.
    func testMmapWithAssignBorrowsTheFile() throws {
        manualSeed(4)
        let model = makeSequential()
        let url = dir.appendingPathComponent("m.pth")
        try save(model.stateDict(), to: url)
        let target = makeSequential()
        try target.loadStateDict(load(url, mmap: true), assign: true)
        for (name, p) in target.namedParameters() {
            // Storages under 64 bytes are copied (RecordBridge.minBorrowedBytes); here only 1.bias (24 bytes).
            XCTAssertEqual(p.storage.owner != nil, name != "1.bias", "\(name) borrows the mapping")
            XCTAssertTrue(p.isParameter && p.requiresGrad && p.isLeaf, name)
        }
        assertSameState(target, model)
        let tokens = Tensor([[3, 1, 4]])
        XCTAssertEqual(noGrad { target(tokens) }.toFloats(), noGrad { model(tokens) }.toFloats())
    }

    /// A module built on `.meta` (no memory) is materialised by `loadStateDict(load(url), assign: true)`.
    func testMetaModuleIsMaterialisedFromAFile() throws {
        manualSeed(5)
        let model = makeSequential()
        let url = dir.appendingPathComponent("meta.pth")
        try save(model.stateDict(), to: url)
        let meta = Sequential(Embedding(10, 4, device: .meta), Linear(4, 6, device: .meta), ReLU(), Linear(6, 3, bias: false, device: .meta))
        XCTAssertTrue(meta.parameters().allSatisfy(\.isMeta))
        let result = try meta.loadStateDict(load(url), assign: true)
        XCTAssertEqual(result, IncompatibleKeys())
        XCTAssertTrue(meta.parameters().allSatisfy { $0.device == .cpu && $0.requiresGrad && $0.isParameter })
        assertSameState(meta, model)
        let tokens = Tensor([[0, 5, 9]])
        XCTAssertEqual(noGrad { meta(tokens) }.toFloats(), noGrad { model(tokens) }.toFloats())
    }

    // MARK: - Helpers

    private func makeSequential() -> Sequential {
        Sequential(Embedding(10, 4), Linear(4, 6), ReLU(), Linear(6, 3, bias: false))
    }

    private func assertSameState(_ a: Module, _ b: Module, line: UInt = #line) {
        let x = a.stateDict(), y = b.stateDict()
        XCTAssertEqual(Array(x.keys), Array(y.keys), line: line)
        for (k, t) in x { XCTAssertEqual(bytes(t), y[k].map { bytes($0) }, k, line: line) }
    }

    private func group(_ key: String) throws -> [String: Any] { try XCTUnwrap(buffers[key] as? [String: Any], key) }

    /// A float32 tensor from an expected.json entry (`shape`, `values`).
    private func tensor(_ entry: Any?) throws -> Tensor {
        let e = try XCTUnwrap(entry as? [String: Any])
        let values: [Float] = try XCTUnwrap(e["values"] as? [Double]).map { Float($0) }
        let shape = try XCTUnwrap(e["shape"] as? [Int])
        return Tensor(array: values, shape: shape)
    }

    /// Every tensor of an expected.json state dict (`{"keys": [...], "tensors": {...}}` or a plain name → tensor map).
    private func assertStateDict(_ m: Module, _ entry: Any?, _ what: String) throws {
        let e = try XCTUnwrap(entry as? [String: Any], what)
        let tensors = (e["tensors"] as? [String: Any]) ?? e
        let sd = m.stateDict()
        XCTAssertEqual(Set(sd.keys), Set(tensors.keys), what)
        for (k, t) in sd { try assertTensor(t, tensors[k], "\(what) \(k)") }
    }

    /// Exact float32 bits (tolerance 0), or within `tolerance` for computed outputs (float32 matmul
    /// summation order may differ from PyTorch's by an ulp); the message names the tensor and the max diff.
    private func assertTensor(_ t: Tensor, _ entry: Any?, _ what: String, tolerance: Float = 0) throws {
        let e = try XCTUnwrap(entry as? [String: Any], what)
        XCTAssertEqual(t.shape, e["shape"] as? [Int], what)
        let expected: [Float] = try XCTUnwrap(e["values"] as? [Double], what).map { Float($0) }
        let actual = t.toFloats()
        guard actual.count == expected.count else { return XCTFail("\(what): \(actual.count) values, expected \(expected.count)") }
        if tolerance == 0 {
            XCTAssertEqual(actual.map { $0.bitPattern }, expected.map { $0.bitPattern }, "\(what): \(actual) vs \(expected)")
        } else {
            let maxDiff = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, tolerance, "\(what): maxdiff \(maxDiff)")
        }
    }

    private func pthFixtureTensors(_ name: String) throws -> [String: [String: Any]] {
        let files = try XCTUnwrap(try Fixtures.json("pth/expected.json")["files"] as? [String: Any])
        return try XCTUnwrap((files[name] as? [String: Any])?["tensors"] as? [String: [String: Any]])
    }
}
