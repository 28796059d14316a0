import EmberCore
import EmberIO
import EmberNN
import Foundation
import OrderedCollections
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A language-model head tied to its token embedding (book ch. 4's weight tying; GPT-2's `wte`/`lm_head`).
final class TiedLM: Module {
    @Child var tok_emb: Embedding
    @Child var out_head: Linear

    init(vocab: Int = 6, dim: Int = 4, tied: Bool = true) {
        tok_emb = Embedding(vocab, dim)               // weight [vocab, dim]
        out_head = Linear(dim, vocab, bias: false)    // weight [vocab, dim]
        super.init()
        if tied { out_head.weight = tok_emb.weight }
    }
}

/// The small MLP of Fixtures/pth/checkpoint.pth: `layers = Sequential(Linear(2, 30), ReLU(), Linear(30, 20),
/// ReLU(), Linear(20, 2))`.
final class CheckpointMLP: Module {
    @Child var layers = Sequential(Linear(2, 30), ReLU(), Linear(30, 20), ReLU(), Linear(20, 2))
    func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}

/// The module-level halves of the file bug cases B08, B09, B10, B12, B13, B14 (docs/cases.md); the IO-level halves are in PthHostileTests, PthWriteTests, SafetensorsTests, InspectAndAtomicTests.
final class IOBugCaseTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory()
        Module.warnsAboutUnregisteredTensors = false
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: - B08 tied embeddings

    /// B08 (c) and the .pth rule: `parameters()` yields the tied tensor once, `stateDict()` lists both names,
    /// `save` writes one storage, and a copy-mode load keeps the tie (`out_head.weight[0,0] == 5` after
    /// writing 5 into `tok_emb.weight[0,0]`).
    func testB08TiedWeightsParametersOnceSavedOnceLoadKeepsTie() throws {
        manualSeed(8)
        let model = TiedLM()
        XCTAssertEqual(model.parameters().count, 1)
        XCTAssertEqual(TiedLM(tied: false).parameters().count, 2)
        XCTAssertEqual(Array(model.stateDict().keys), ["tok_emb.weight", "out_head.weight"])
        XCTAssertEqual(model.numParameters(), 24)

        let url = dir.appendingPathComponent("tied.pth")
        try save(model.stateDict(), to: url)
        let checkpoint = try PthCheckpoint.load(contentsOf: url)
        XCTAssertEqual(Set(checkpoint.tensors().map { ObjectIdentifier($0.tensor.storage) }).count, 1, "one storage record")
        let listing = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        XCTAssertTrue(listing.contains("tied/data/0") && !listing.contains("tied/data/1"), "data written once")
        let report = try PthInspectTool.run(url)
        XCTAssertEqual(report.status, 0, report.stderr)

        let fresh = TiedLM()
        try fresh.loadStateDict(load(url))
        XCTAssertTrue(fresh.out_head.weight === fresh.tok_emb.weight, "copy mode keeps the tie")
        XCTAssertEqual(bytes(fresh.tok_emb.weight), bytes(model.tok_emb.weight))
        noGrad { fresh.tok_emb.weight[0, 0] = 5 }
        XCTAssertEqual(fresh.out_head.weight[0, 0], 5)
        XCTAssertEqual(fresh.parameters().count, 1)
    }

    /// B08 (a): safetensors refuses the tied pair with an error naming both keys (the reference library's
    /// "Some tensors share memory"), and writes nothing.
    func testB08SafetensorsRefusesTiedStateDictNamingThePair() throws {
        let url = dir.appendingPathComponent("tied.safetensors")
        XCTAssertThrowsError(try saveSafetensors(TiedLM().stateDict(), to: url)) { error in
            XCTAssertEqual((error as? EmberIOError)?.kind, .sharedMemory)
            XCTAssertTrue("\(error)".contains("{tok_emb.weight, out_head.weight}"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        // Saving one name works, and the tie is restored by loading into a tied model.
        let model = TiedLM()
        var sd = model.stateDict()
        sd.removeValue(forKey: "out_head.weight")
        try saveSafetensors(sd, to: url)
        let fresh = TiedLM()
        let result = try fresh.loadStateDict(loadSafetensors(url).tensors, strict: false)
        XCTAssertEqual(result.unexpectedKeys, [])
        XCTAssertTrue(fresh.out_head.weight === fresh.tok_emb.weight)
        XCTAssertEqual(bytes(fresh.out_head.weight), bytes(model.tok_emb.weight))
    }

    /// B08 (b): a tied model loads a checkpoint without the head key strictly (it is the same tensor).
    func testB08TiedModelLoadsCheckpointWithoutHeadKey() throws {
        let model = TiedLM()
        var sd = model.stateDict()
        sd.removeValue(forKey: "out_head.weight")
        let url = dir.appendingPathComponent("nohead.pth")
        try save(sd, to: url)
        let fresh = TiedLM()
        XCTAssertEqual(try fresh.loadStateDict(load(url)), IncompatibleKeys())
        XCTAssertEqual(bytes(fresh.out_head.weight), bytes(model.tok_emb.weight))
        // An untied model still needs the key.
        XCTAssertThrowsError(try TiedLM(tied: false).loadStateDict(load(url))) {
            XCTAssertTrue("\($0)".contains("Missing key(s) in state_dict: \"out_head.weight\""), "\($0)")
        }
    }

    /// B08 (d): `assign: true` keeps the aliasing: both names end up on one tensor object, which
    /// `parameters()` yields once, so an optimizer cannot step the shared weight twice.
    func testB08AssignLoadKeepsTheTie() throws {
        let model = TiedLM()
        let url = dir.appendingPathComponent("tied.pth")
        try save(model.stateDict(), to: url)
        for mmap in [false, true] {
            let fresh = TiedLM()
            try fresh.loadStateDict(load(url, mmap: mmap), assign: true)
            XCTAssertTrue(fresh.out_head.weight === fresh.tok_emb.weight, "assign (mmap \(mmap)) keeps the tie")
            XCTAssertEqual(fresh.parameters().count, 1)
            XCTAssertEqual(bytes(fresh.tok_emb.weight), bytes(model.tok_emb.weight))
        }
    }

    // MARK: - B09 map_location

    /// B09: a module's checkpoint whose storages say `cuda:0` and `mps` (rewritten tags) is refused without
    /// `mapLocation` (naming the tag), and loads into the module bit for bit with `.cpu` or a mapping.
    func testB09GPUTaggedCheckpointLoadsIntoModuleWithMapLocation() throws {
        manualSeed(9)
        let model = CheckpointMLP()
        let plain = dir.appendingPathComponent("plain.pth"), gpu = dir.appendingPathComponent("gpu.pth")
        try save(model.stateDict(), to: plain)
        try PthWriter.save(PthCheckpoint.load(contentsOf: plain).root, to: gpu,
                           deviceTag: { Int($0)! % 2 == 0 ? "cuda:0" : "mps" })
        let target = CheckpointMLP()
        let before = target.stateDict().mapValues { bytes($0) }
        XCTAssertThrowsError(try target.loadStateDict(load(gpu))) { error in
            XCTAssertEqual((error as? EmberIOError)?.kind, .deviceLocation)
            XCTAssertTrue("\(error)".contains("'cuda:0'") && "\(error)".contains("mapLocation"), "\(error)")
        }
        XCTAssertEqual(target.stateDict().mapValues { bytes($0) }, before, "a refused file changes nothing")
        XCTAssertThrowsError(try load(gpu, mapLocation: .mapping(["cuda:0": "cpu"]))) {
            XCTAssertTrue("\($0)".contains("'mps'"), "an unmapped tag is still refused: \($0)")
        }
        for location in [MapLocation.cpu, .mapping(["cuda:0": "cpu", "mps": "cpu"])] {
            let fresh = CheckpointMLP()
            try fresh.loadStateDict(load(gpu, mapLocation: location))
            for (k, t) in fresh.stateDict() {
                XCTAssertEqual(t.device, .cpu, k)
                XCTAssertEqual(bytes(t), bytes(model.stateDict()[k]!), "\(k): identical bytes")
            }
        }
    }

    // MARK: - B10 optimizer state

    /// B10 with PyTorch's file: checkpoint.pth (model + AdamW state after 2 steps, torch 2.13) resumes into an
    /// Ember model and AdamW: weights and moments bit for bit, `step` 2, state keyed by parameter index in
    /// `parameters()` order on the parameter's device and dtype, param_groups restored; saving the resumed
    /// pair (plus the file's plain values) gives what pth_inspect.py prints for PyTorch's own file.
    func testB10ResumePyTorchAdamWCheckpoint() throws {
        let source = Fixtures.url("pth/checkpoint.pth")
        let ck = try load(source)
        let model = CheckpointMLP()
        try model.loadStateDict(try XCTUnwrap(ck["model_state_dict"]))
        let optimizer = AdamW(model.parameters(), lr: 4e-4, weightDecay: 0.1)
        try optimizer.loadStateDict(try XCTUnwrap(ck["optimizer_state_dict"]))

        let expected = try XCTUnwrap((try Fixtures.json("pth/expected.json")["files"] as? [String: Any])?["checkpoint.pth"] as? [String: Any])
        let tensors = try XCTUnwrap(expected["tensors"] as? [String: [String: Any]])
        for (k, t) in model.stateDict() {
            XCTAssertEqual(sha(t), tensors["/model_state_dict/" + k]?["sha256"] as? String, k)
        }
        let params = model.parameters()
        XCTAssertEqual(params.count, 6)
        for (i, p) in params.enumerated() {
            let s = try XCTUnwrap(optimizer.state[ObjectIdentifier(p)], "state of parameter \(i)")
            XCTAssertEqual(Array(s.keys), ["step", "exp_avg", "exp_avg_sq"])
            XCTAssertEqual(s["step"]?.toFloats(), [2], "step restored")
            for name in ["exp_avg", "exp_avg_sq"] {
                let t = try XCTUnwrap(s[name])
                XCTAssertEqual(t.shape, p.shape, "\(i) \(name): keyed by parameter index")
                XCTAssertEqual(t.device, p.device)
                XCTAssertEqual(t.dtype, p.dtype)
                XCTAssertEqual(sha(t), tensors["/optimizer_state_dict/state/\(i)/\(name)"]?["sha256"] as? String, "\(i) \(name)")
            }
        }
        let group = optimizer.paramGroups[0]
        XCTAssertEqual(group.lr, 4e-4)
        XCTAssertEqual(group.double("eps"), 1e-8)
        XCTAssertEqual(group.double("weight_decay"), 0.1)
        XCTAssertEqual(group.options["betas"]?.elements?.compactMap(\.double), [0.9, 0.999])

        var out = OrderedDictionary<StateKey, StateValue>()
        out["model_state_dict"] = .stateDict(model.stateDict())
        out["optimizer_state_dict"] = optimizer.stateDict()
        for key in ["epoch", "note", "lr"] { out[.string(key)] = ck[key] }
        let url = dir.appendingPathComponent("resumed.pth")
        try save(.dict(out), to: url)
        let ours = try PthInspectTool.run(url), torchs = try PthInspectTool.run(source, patchMetadata: true)
        XCTAssertEqual(ours.status, 0, ours.stderr)
        XCTAssertEqual(torchs.status, 0, torchs.stderr)
        XCTAssertEqual(ours.stdout, torchs.stdout, "Ember's {model, optimizer} checkpoint prints as PyTorch's does")
    }

    /// B10 through a file: 2 steps, save `{"model_state_dict", "optimizer_state_dict"}`, a new model and AdamW
    /// load it and take 2 more steps: bit-identical to 4 uninterrupted steps (CPU, fixed batches). The state
    /// follows a model moved to float64 before `loadStateDict` (the parameter's dtype).
    func testB10ResumedTrainingEqualsUninterruptedTraining() throws {
        let x = Tensor(array: (0..<16).map { Float($0) / 8 - 1 }, shape: [8, 2])
        let y = Tensor(array: (0..<16).map { Float(($0 * 7) % 5) / 5 }, shape: [8, 2])
        func train(_ m: CheckpointMLP, _ opt: Optimizer, steps: Int) {
            for _ in 0..<steps {
                opt.zeroGrad()
                let d = m(x) - y
                (d * d).mean().backward()
                opt.step()
            }
        }
        manualSeed(10)
        let reference = CheckpointMLP()
        let initial = reference.stateDict().mapValues { $0.clone() }
        train(reference, AdamW(reference.parameters(), lr: 4e-4, weightDecay: 0.1), steps: 4)

        let first = CheckpointMLP()
        try first.loadStateDict(initial)
        let opt1 = AdamW(first.parameters(), lr: 4e-4, weightDecay: 0.1)
        train(first, opt1, steps: 2)
        let url = dir.appendingPathComponent("model_and_optimizer.pth")
        try save(.dict(["model_state_dict": .stateDict(first.stateDict()), "optimizer_state_dict": opt1.stateDict()]), to: url)
        XCTAssertEqual(try PthInspectTool.run(url).status, 0)

        let ck = try load(url)
        let resumed = CheckpointMLP()
        try resumed.loadStateDict(try XCTUnwrap(ck["model_state_dict"]))
        let opt2 = AdamW(resumed.parameters(), lr: 4e-4, weightDecay: 0.1)
        try opt2.loadStateDict(try XCTUnwrap(ck["optimizer_state_dict"]))
        train(resumed, opt2, steps: 2)
        for (k, t) in resumed.stateDict() {
            XCTAssertEqual(bytes(t), bytes(reference.stateDict()[k]!), "\(k): resumed 2+2 steps equal 4 steps")
        }

        let wide = CheckpointMLP()
        try wide.loadStateDict(try XCTUnwrap(ck["model_state_dict"]))
        wide.to(.float64)
        let opt3 = AdamW(wide.parameters(), lr: 4e-4, weightDecay: 0.1)
        try opt3.loadStateDict(try XCTUnwrap(ck["optimizer_state_dict"]))
        for p in wide.parameters() { XCTAssertEqual(opt3.state[ObjectIdentifier(p)]?["exp_avg"]?.dtype, .float64) }
    }

    // MARK: - B12 code execution

    /// B12: every executing hostile file is refused by `load` naming the global or opcode, runs nothing,
    /// and the module it was meant for is untouched.
    func testB12HostileFilesNeverReachTheModule() throws {
        let marker = "/tmp/PWNED_marker"
        try? FileManager.default.removeItem(atPath: marker)
        let cases = ["exec_os_system.pth": "os.system", "exec_builtins_eval.pth": "builtins.eval",
                     "exec_stack_global.pth": "builtins.exec", "exec_inst_opcode.pth": "opcode",
                     "torch_prefix_global.pth": "torch.serialization.load"]
        let model = CheckpointMLP()
        let before = model.stateDict().mapValues { bytes($0) }
        for (name, text) in cases.sorted(by: { $0.key < $1.key }) {
            XCTAssertThrowsError(try model.loadStateDict(load(Fixtures.url("pth/hostile/" + name))), name) { error in
                guard let e = error as? EmberIOError else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue([.forbiddenGlobal, .forbiddenOpcode].contains(e.kind), "\(name): \(e)")
                XCTAssertTrue(e.description.contains(text), "\(name): '\(e)' should name \(text)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(name) executed code")
        }
        XCTAssertEqual(model.stateDict().mapValues { bytes($0) }, before)
    }

    // MARK: - B13 truncation and atomic save

    /// B13: `model.pth` cut to 0, 100, half and length − 1 bytes, and a safetensors file cut inside its data:
    /// catchable errors naming the file, the model untouched.
    func testB13TruncatedFilesLeaveTheModelUntouched() throws {
        manualSeed(13)
        let model = CheckpointMLP()
        let url = dir.appendingPathComponent("model.pth"), st = dir.appendingPathComponent("model.safetensors")
        try save(model.stateDict(), to: url)
        try saveSafetensors(model.stateDict(), to: st)
        let target = CheckpointMLP()
        let before = target.stateDict().mapValues { bytes($0) }
        let full = try Data(contentsOf: url)
        for length in [0, 100, full.count / 2, full.count - 1] {
            let cut = dir.appendingPathComponent("cut\(length).pth")
            try full.prefix(length).write(to: cut)
            XCTAssertThrowsError(try target.loadStateDict(load(cut)), "\(length)") { error in
                let e = error as? EmberIOError
                XCTAssertEqual(e?.file, cut.path, "\(length)")
                XCTAssertTrue([.emptyFile, .truncated].contains(e?.kind), "\(length): \(error)")
            }
        }
        let stData = try Data(contentsOf: st)
        let stCut = dir.appendingPathComponent("cut.safetensors")
        try stData.prefix(stData.count - 100).write(to: stCut)
        XCTAssertThrowsError(try loadSafetensors(stCut)) { error in
            XCTAssertEqual((error as? EmberIOError)?.file, stCut.path)
            XCTAssertTrue("\(error)".contains("past the"), "\(error)")
        }
        XCTAssertEqual(target.stateDict().mapValues { bytes($0) }, before, "the model is untouched")
    }

    /// B13: a save that fails midway (the file-size limit is hit while the data is written, as on a full
    /// disk) throws, leaves the previous checkpoint byte-identical and loadable, and no temporary file.
    func testB13SaveThatFailsMidwayKeepsThePreviousCheckpoint() throws {
        #if canImport(Glibc)
        manualSeed(131)
        let old = Sequential(Linear(256, 256))           // 256 KiB of weights
        let url = dir.appendingPathComponent("model.pth")
        try save(old.stateDict(), to: url)
        let before = try Data(contentsOf: url)
        let new = Sequential(Linear(256, 256))
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)   // EFBIG instead of the signal
        var limit = rlimit(rlim_cur: 64 * 1024, rlim_max: saved.rlim_max)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var failure: Error?
        do { try save(new.stateDict(), to: url) } catch { failure = error }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        let e = try XCTUnwrap(failure as? EmberIOError, "the save must fail")
        XCTAssertEqual(e.kind, .writeFailed)
        XCTAssertEqual(e.file, url.path)
        XCTAssertEqual(try Data(contentsOf: url), before, "the previous checkpoint is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.pth"], "no temporary file left")
        let restored = Sequential(Linear(256, 256))
        try restored.loadStateDict(load(url))
        XCTAssertEqual(bytes(restored.stateDict()["0.weight"]!), bytes(old.stateDict()["0.weight"]!))
        // A save refused before writing (a meta tensor has no data) also leaves the file alone.
        XCTAssertThrowsError(try save(Sequential(Linear(2, 2, device: .meta)).stateDict(), to: url)) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .writeFailed)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        #else
        throw XCTSkip("RLIMIT_FSIZE is used on Linux only")
        #endif
    }

    // MARK: - B14 safetensors header length

    /// B14: (a) FF×8 + `{}`, (b) a Git-LFS pointer, (c) length = size − 8 + 1 are refused before allocating,
    /// naming the problem and the file; (d) a valid file loads into the module.
    func testB14HeaderLengthCasesAtTheModuleLevel() throws {
        manualSeed(14)
        let model = CheckpointMLP()
        let valid = dir.appendingPathComponent("d.safetensors")
        try saveSafetensors(model.stateDict(), metadata: ["format": "pt"], to: valid)
        var c = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(3) >> (8 * UInt64($0))) })
        c.append(Data("{}".utf8))
        let bad: [(String, Data, String)] = [
            ("a", Data([UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8)), "header too large"),
            ("b", Data("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 548105171\n".utf8), "header too large"),
            ("c", c, "runs past the end"),
        ]
        let target = CheckpointMLP()
        let before = target.stateDict().mapValues { bytes($0) }
        for (label, data, text) in bad {
            let url = dir.appendingPathComponent("\(label).safetensors")
            try data.write(to: url)
            XCTAssertThrowsError(try target.loadStateDict(loadSafetensors(url).tensors), label) { error in
                XCTAssertEqual((error as? EmberIOError)?.file, url.path, label)
                XCTAssertTrue("\(error)".contains(text), "\(label): \(error)")
            }
        }
        XCTAssertEqual(target.stateDict().mapValues { bytes($0) }, before)
        let (tensors, metadata) = try loadSafetensors(valid)
        XCTAssertEqual(metadata, ["format": "pt"])
        try target.loadStateDict(tensors)
        for (k, t) in target.stateDict() { XCTAssertEqual(bytes(t), bytes(model.stateDict()[k]!), k) }
    }
}
