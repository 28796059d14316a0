import EmberCore
import EmberIO
import Foundation
import OrderedCollections
import XCTest

/// `PthInspector.json` equals pth_inspect.py's output byte for byte; atomic saves leave the previous file
/// intact when they fail; truncated checkpoints are refused (bug case B13).
final class InspectAndAtomicTests: XCTestCase {
    func testInspectJSONEqualsPthInspectOutput() throws {
        // Files pth_inspect.py reads unpatched (no `_metadata`), plus safetensors with Ember dtypes.
        let files = ["pth/dtypes.pth", "pth/views.pth", "pth/tied_view.pth", "pth/empty.pth", "pth/zero_dim.pth",
                     "pth/single_tensor.pth", "pth/protocol4.pth", "pth/saved_via_bytesio.pth", "pth/legacy_format.pth",
                     "safetensors/all_dtypes.safetensors", "safetensors/state_dict.safetensors"]
        for name in files {
            let url = Fixtures.url(name)
            let report = try PthInspectTool.run(url)
            if name.hasSuffix("legacy_format.pth") {
                XCTAssertNotEqual(report.status, 0, "pth_inspect.py reads zip files only"); continue
            }
            XCTAssertEqual(report.status, 0, "\(name): \(report.stderr)")
            XCTAssertEqual(try PthInspector.json(contentsOf: url), report.stdout, name)
        }
    }

    func testInspectRefusesToExpandMemoBlowup() throws {
        XCTAssertThrowsError(try PthInspector.json(contentsOf: Fixtures.url("pth/hostile/memo_blowup.pth"))) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .limitExceeded)
        }
    }

    func testB13FailedSaveLeavesThePreviousFileIntact() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.pth")
        let good = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/module_state_dict.pth"))
        try PthWriter.save(good.root, to: url)
        let before = try Data(contentsOf: url)
        // 1. The write itself fails midway (after 1000 bytes).
        struct DiskFull: Error {}
        XCTAssertThrowsError(try AtomicFileWriter.write(to: url) { sink in
            try sink.write(Data(repeating: 0xAB, count: 1000))
            throw DiskFull()
        })
        // 2. A save that cannot encode its value (complex64 tensor) fails before anything is renamed.
        let dict = PickleDict([.string("ok"): good.tensors()[0].tensor.asValue, .string("bad"): .unsupported("complex64 tensor")])
        XCTAssertThrowsError(try PthWriter.save(.dict(dict), to: url)) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .unsupportedDType)
        }
        XCTAssertEqual(try Data(contentsOf: url), before, "the earlier checkpoint is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.pth"], "no temporary file left")
        XCTAssertNoThrow(try PthCheckpoint.load(contentsOf: url))
    }

    func testB13TruncatedCheckpointsAreRefused() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try Data(contentsOf: Fixtures.url("pth/module_state_dict.pth"))
        for length in [0, 100, full.count / 2, full.count - 1] {
            let url = dir.appendingPathComponent("cut\(length).pth")
            try full.prefix(length).write(to: url)
            XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url), "\(length)") { error in
                guard let e = error as? EmberIOError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.file, url.path)
                XCTAssertTrue([.emptyFile, .truncated].contains(e.kind), "\(length): \(e)")
            }
        }
    }

    func testB10OptimizerStateSurvivesARoundTrip() throws {
        // IO half of B10: checkpoint.pth's AdamW state (step, exp_avg, exp_avg_sq per param index, param_groups)
        // is read and rewritten unchanged. Moving the state to the parameter's device is EmberNN's job.
        let ck = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/checkpoint.pth"))
        let opt = try XCTUnwrap(ck.root.dict?["optimizer_state_dict"]?.dict)
        let groups = try XCTUnwrap(opt["param_groups"]?.elements?.first?.dict)
        guard case .float(let lr) = groups["lr"], case .float(let wd) = groups["weight_decay"], case .float(let eps) = groups["eps"]
        else { return XCTFail("param_groups") }
        XCTAssertEqual([lr, wd, eps], [4e-4, 0.1, 1e-8])
        XCTAssertEqual(groups["betas"]?.elements?.count, 2)
        let state = try XCTUnwrap(opt["state"]?.dict)
        XCTAssertEqual(state.items.keys.map(\.description), ["0", "1", "2", "3", "4", "5"])
        XCTAssertNotNil(state.items[.int(0)]?.dict?["exp_avg"]?.tensor)
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("resume.pth")
        try PthWriter.save(ck.root, to: url)
        XCTAssertEqual(try PthInspector.json(contentsOf: url), try PthInspector.json(contentsOf: Fixtures.url("pth/checkpoint.pth")))
    }
}

extension TensorRecord {
    var asValue: PickleValue { .tensor(self) }
}
