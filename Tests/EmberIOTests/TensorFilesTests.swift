import EmberCore
import EmberIO
import Foundation
import OrderedCollections
import XCTest

/// `save` / `load` / `saveSafetensors` / `loadSafetensors` on Ember tensors: every dtype, 0-d, empty,
/// views and tied storages come back with the bytes, shape, stride, offset and sharing PyTorch wrote
/// (Fixtures/pth/expected.json, written by torch 2.13), and every `.pth` Ember writes is read by the shared
/// `pth_inspect.py` (the `torch.load(weights_only=True)` allowlist) with the same sha256 per tensor.
final class TensorFilesTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// dtypes.pth: one tensor per dtype with ±0, ±inf, nan, extremes and subnormals.
    func testEveryDTypeRoundTripsThroughPthAndSafetensors() throws {
        try roundTrip("dtypes.pth", expectedCount: 10)
    }

    /// zero_dim.pth: shape [] / stride [] for f32, i64, bool, f16 and -0.0.
    func testZeroDimTensorsRoundTrip() throws {
        let value = try roundTrip("zero_dim.pth", expectedCount: 5)
        let negZero = try XCTUnwrap(value["neg_zero"]?.tensor)
        XCTAssertEqual(negZero.shape, [])
        XCTAssertEqual(negZero.toFloats().first?.bitPattern, (-0.0 as Float).bitPattern, "-0.0 keeps its sign bit")
    }

    /// empty.pth: [0], [2, 0], [0, 3] int64 (0-byte storages) next to a non-empty tensor.
    func testEmptyTensorsRoundTrip() throws {
        let value = try roundTrip("empty.pth", expectedCount: 4)
        XCTAssertEqual(value["e2x0"]?.tensor?.shape, [2, 0])
        XCTAssertEqual(value["e0x3_i64"]?.tensor?.dtype, .int64)
    }

    /// views.pth: transposed, offset slices, stepped and stride-0 expanded views keep size/stride/offset
    /// (torch writes the whole base storage).
    func testViewsKeepStrideAndOffset() throws {
        let value = try roundTrip("views.pth", expectedCount: 5)
        XCTAssertEqual(value["expanded"]?.tensor?.strides, [0, 1])
        XCTAssertEqual(value["slice2d"]?.tensor?.storageOffset, 6)
    }

    /// tied_view.pth / tied_same_tensor.pth / tied_module_state_dict.pth: tensors that shared one storage
    /// in PyTorch share one Ember storage after loading and one record after saving; safetensors refuses them.
    func testTiedStoragesStayTied() throws {
        for name in ["tied_view.pth", "tied_same_tensor.pth", "tied_module_state_dict.pth"] {
            try roundTrip(name, expectedCount: name == "tied_view.pth" ? 3 : 2)
        }
    }

    /// Views made in Ember (transpose, slice, stride-0 expand) of tensors made in Ember.
    func testEmberViewsAreSavedAsViewsOfOneStorage() throws {
        let base = Tensor.arange(12).float().view([3, 4])
        var sd = OrderedDictionary<String, Tensor>()
        sd["base"] = base
        sd["transposed"] = base.t()                                   // [4, 3], stride [1, 4]
        sd["rows"] = base.slice(0, start: 1)                          // [2, 4], offset 4
        sd["expanded"] = Tensor.arange(3).unsqueeze(0).expand([4, 3]) // int64, stride [0, 1]
        let url = dir.appendingPathComponent("views.pth")
        try save(sd, to: url)
        let json = try inspect(url)
        for (key, t) in sd {
            let node = try XCTUnwrap(json[key] as? [String: Any], key)
            XCTAssertEqual(node["stride"] as? [Int], t.strides, key)
            XCTAssertEqual(node["storage_offset"] as? Int, t.storageOffset, key)
            XCTAssertEqual(node["sha256"] as? String, sha(t), key)
        }
        let back = try XCTUnwrap(load(url).tensorDict)
        XCTAssertEqual(back["transposed"]?.strides, [1, 4])
        XCTAssertEqual(back["rows"]?.storageOffset, 4)
        XCTAssertTrue(back["base"]!.storage === back["transposed"]!.storage && back["base"]!.storage === back["rows"]!.storage)
        // The sharing is real: a write through one view is seen through the others (PyTorch semantics).
        back["base"]!.fill_(7)
        XCTAssertEqual(back["transposed"]!.toFloats(), [Float](repeating: 7, count: 12))
        XCTAssertEqual(back["expanded"]!.toInt64s(), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        // safetensors cannot hold views of one storage: refused, naming the pair (B08's rule).
        XCTAssertThrowsError(try saveSafetensors(sd, to: dir.appendingPathComponent("v.safetensors"))) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .sharedMemory)
            XCTAssertTrue("\($0)".contains("base") && "\($0)".contains("transposed"), "\($0)")
        }
        // A lone non-contiguous view is written contiguous and reads back with the same values.
        let st = dir.appendingPathComponent("t.safetensors")
        try saveSafetensors(["t": base.t()], to: st)
        let t = try XCTUnwrap(loadSafetensors(st).tensors["t"])
        XCTAssertEqual(t.strides, [3, 1])
        XCTAssertEqual(t.toFloats(), base.t().contiguous().toFloats())
    }

    /// Parameters keep `requires_grad` and the Parameter flag (params_keep_vars.pth: one frozen parameter).
    func testParametersKeepRequiresGrad() throws {
        let value = try load(Fixtures.url("pth/params_keep_vars.pth"))
        let expected = try fixtureTensors("params_keep_vars.pth")
        for (path, info) in expected {
            let t = try XCTUnwrap(value[String(path.dropFirst())]?.tensor, path)
            XCTAssertEqual(t.requiresGrad, info["requires_grad"] as? Bool ?? false, path)
            XCTAssertEqual(t.isParameter, info["is_parameter"] as? Bool ?? false, path)
        }
        let url = dir.appendingPathComponent("params.pth")
        try save(value, to: url)
        for (path, info) in expected {
            let node = try XCTUnwrap(try inspect(url)[String(path.dropFirst())] as? [String: Any], path)
            XCTAssertEqual(node["requires_grad"] as? Bool, info["requires_grad"] as? Bool ?? false, path)
        }
    }

    /// B09 at the tensor level: storages tagged `cuda:0` (written with PthWriter's `deviceTag`) are refused
    /// without `mapLocation`, with an error naming the tag; `mapLocation: .cpu` gives identical CPU tensors.
    func testB09CudaTaggedFileNeedsMapLocation() throws {
        let original = try load(Fixtures.url("pth/dtypes.pth"))
        let url = dir.appendingPathComponent("cuda.pth")
        try PthWriter.save(PthCheckpoint.load(contentsOf: Fixtures.url("pth/dtypes.pth")).root, to: url,
                           deviceTag: { _ in "cuda:0" })
        XCTAssertThrowsError(try load(url)) { error in
            let e = error as? EmberIOError
            XCTAssertEqual(e?.kind, .deviceLocation)
            XCTAssertEqual(e?.file, url.path)
            XCTAssertTrue("\(error)".contains("'cuda:0'") && "\(error)".contains("mapLocation"), "\(error)")
        }
        let mapped = try XCTUnwrap(load(url, mapLocation: .cpu).tensorDict)
        let expected = try XCTUnwrap(original.tensorDict)
        XCTAssertEqual(Array(mapped.keys), Array(expected.keys))
        for (k, t) in mapped {
            XCTAssertEqual(t.device, .cpu, k)
            XCTAssertEqual(t.dtype, expected[k]!.dtype, "\(k): a location tag never changes the dtype")
            XCTAssertEqual(bytes(t), bytes(expected[k]!), "\(k): bytes identical")
        }
    }

    /// `device: .meta` keeps dtype, shape, stride, requires_grad and the sharing of storages, and no bytes.
    func testLoadOnMetaKeepsShapesAndTies() throws {
        let value = try load(Fixtures.url("pth/tied_view.pth"), device: .meta)
        let d = try XCTUnwrap(value.tensorDict)
        XCTAssertEqual(d.values.map(\.device), [.meta, .meta, .meta])
        XCTAssertEqual(d["b"]?.shape, [2, 2])
        XCTAssertEqual(d["b"]?.storageOffset, 5)
        XCTAssertTrue(d["a"]!.storage === d["b"]!.storage && d["a"]!.storage === d["c"]!.storage)
        XCTAssertNil(d["a"]!.storage.data)
        let params = try XCTUnwrap(load(Fixtures.url("pth/params_keep_vars.pth"), device: .meta).dict)
        for (_, v) in params { XCTAssertTrue(v.tensor?.isLeaf ?? false, "moving to meta must not make a graph node") }
    }

    /// hostile/memo_blowup.pth (60 levels of lists holding the previous one twice): a StateValue tree would copy
    /// 2^60 leaves, so `load` refuses it quickly (found by the fuzz harness, Fuzz/README.md).
    func testLoadRefusesMemoBlowupQuickly() throws {
        let start = Date()
        XCTAssertThrowsError(try load(Fixtures.url("pth/hostile/memo_blowup.pth"))) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .limitExceeded, "\($0)")
            XCTAssertTrue("\($0)".contains("memo_blowup.pth"), "names the file: \($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // deep_nesting.pth (100,000 nested lists) is refused by the unpickler's depth limit, not a stack overflow.
        XCTAssertThrowsError(try load(Fixtures.url("pth/hostile/deep_nesting.pth"))) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .limitExceeded, "\($0)")
        }
    }

    /// `mmap: true` borrows the file's bytes (copy-on-write mapping) for storages of 64 bytes or more (smaller
    /// ones are copied: see `RecordBridge.minBorrowedBytes`): same values, and writing to a tensor never
    /// changes the file.
    func testMmapBorrowsTheFileAndNeverWritesIt() throws {
        let url = dir.appendingPathComponent("m.pth")
        var sd = try XCTUnwrap(load(Fixtures.url("pth/dtypes.pth")).tensorDict)
        sd["big"] = Tensor.arange(0, 64, 1, dtype: .float32)
        try save(sd, to: url)
        let before = try Data(contentsOf: url)
        let copied = try XCTUnwrap(load(url).tensorDict)
        let mapped = try XCTUnwrap(load(url, mmap: true).tensorDict)
        for (k, t) in mapped {
            XCTAssertEqual(t.storage.owner != nil, t.storage.byteCount >= 64, "\(k): storage borrows the mapping")
            XCTAssertNil(copied[k]!.storage.owner, k)
            XCTAssertEqual(bytes(t), bytes(copied[k]!), k)
        }
        XCTAssertEqual(mapped.values.filter { $0.storage.owner != nil }.map(\.dtype), [.float64, .int64, .float32], "f64, i64, big")
        mapped["big"]!.fill_(1)
        XCTAssertEqual(mapped["big"]!.toFloats(), [Float](repeating: 1, count: 64))
        XCTAssertEqual(try Data(contentsOf: url), before, "the file is unchanged (MAP_PRIVATE)")
    }

    /// safetensors fixtures (written by the reference library) load to the same bytes mapped or copied,
    /// including a header that is not padded to 8 bytes (misaligned data is copied, not borrowed).
    func testSafetensorsFixturesLoadMappedAndCopied() throws {
        let expected = try Fixtures.json("safetensors/expected.json")
        let files = try XCTUnwrap(expected["files"] as? [String: Any])
        for name in ["all_dtypes.safetensors", "state_dict.safetensors", "unpadded_header.safetensors",
                     "zero_length_and_scalar.safetensors", "hand_zero_length.safetensors"] {
            let info = try XCTUnwrap(files[name] as? [String: Any], name)
            let tensors = try XCTUnwrap(info["tensors"] as? [String: [String: Any]], name)
            for mapped in [true, false] {
                let loaded = try loadSafetensors(Fixtures.url("safetensors/" + name), mapped: mapped).tensors
                XCTAssertEqual(Set(loaded.keys), Set(tensors.keys), name)
                for (k, t) in loaded {
                    XCTAssertEqual(sha(t), tensors[k]?["sha256"] as? String, "\(name) \(k) mapped=\(mapped)")
                    XCTAssertEqual(t.shape, tensors[k]?["shape"] as? [Int], "\(name) \(k)")
                    if let p = t.storage.data { XCTAssertEqual(Int(bitPattern: p) % t.dtype.itemSize, 0, "\(name) \(k) aligned") }
                }
            }
        }
    }

    // MARK: - Helpers

    /// Loads `Fixtures/pth/NAME` with `load`, checks it against expected.json, saves it with `save`, checks
    /// the file with pth_inspect.py, loads it back, then does the same through safetensors (or checks that
    /// safetensors refuses shared storages). Returns the loaded value.
    @discardableResult
    private func roundTrip(_ name: String, expectedCount: Int, file: StaticString = #filePath, line: UInt = #line) throws -> StateValue {
        let expected = try fixtureTensors(name)
        XCTAssertEqual(expected.count, expectedCount, name, file: file, line: line)
        let value = try load(Fixtures.url("pth/" + name))
        try check(value, against: expected, name: "\(name) (PyTorch's file)")
        let url = dir.appendingPathComponent(name)
        try save(value, to: url)
        let json = try inspect(url)
        for (path, info) in expected {
            let node = try XCTUnwrap(json[String(path.dropFirst())] as? [String: Any], "\(name) \(path) in pth_inspect output")
            XCTAssertEqual(node["sha256"] as? String, info["sha256"] as? String, "\(name) \(path): pth_inspect sha256")
            XCTAssertEqual(node["dtype"] as? String, info["dtype"] as? String, "\(name) \(path)")
            XCTAssertEqual(node["shape"] as? [Int], info["shape"] as? [Int], "\(name) \(path)")
            XCTAssertEqual(node["stride"] as? [Int], info["stride"] as? [Int], "\(name) \(path)")
            XCTAssertEqual(node["storage_offset"] as? Int, info["storage_offset"] as? Int, "\(name) \(path)")
        }
        try check(load(url), against: expected, name: "\(name) (saved by Ember)")
        // One record per storage in the file Ember wrote.
        let records = Set(try PthCheckpoint.load(contentsOf: url).tensors().map { ObjectIdentifier($0.tensor.storage) })
        XCTAssertEqual(records.count, Set(expected.values.map { "\($0["storage_group"] ?? UUID())" }).count, "\(name): storage records")
        let tensors = try XCTUnwrap(value.tensorDict)
        let st = dir.appendingPathComponent(name + ".safetensors")
        let storages = Set(tensors.values.map { ObjectIdentifier($0.storage) })
        guard storages.count == tensors.count else {
            XCTAssertThrowsError(try saveSafetensors(tensors, to: st), name) {
                XCTAssertEqual(($0 as? EmberIOError)?.kind, .sharedMemory, "\(name): \($0)")
            }
            return value
        }
        try saveSafetensors(tensors, metadata: ["format": "pt"], to: st)
        let stJSON = try inspect(st)
        for (path, info) in expected {
            let node = try XCTUnwrap(stJSON[String(path.dropFirst())] as? [String: Any], "\(name) \(path) in safetensors")
            XCTAssertEqual(node["sha256"] as? String, info["sha256"] as? String, "\(name) \(path): safetensors sha256")
        }
        for mapped in [true, false] {
            let (back, metadata) = try loadSafetensors(st, mapped: mapped)
            XCTAssertEqual(metadata, ["format": "pt"])
            for (path, info) in expected {
                let t = try XCTUnwrap(back[String(path.dropFirst())], path)
                XCTAssertEqual(sha(t), info["sha256"] as? String, "\(name) \(path) safetensors mapped=\(mapped)")
                XCTAssertEqual(t.shape, info["shape"] as? [Int], "\(name) \(path)")
                XCTAssertEqual(t.dtype.rawValue, info["dtype"] as? String, "\(name) \(path)")
            }
        }
        return value
    }

    /// The `tensors` of `files.NAME` in Fixtures/pth/expected.json, each with a `storage_group` index
    /// (tensors of one `shared_storage_groups` entry get the same one).
    private func fixtureTensors(_ name: String) throws -> [String: [String: Any]] {
        let files = try XCTUnwrap(try Fixtures.json("pth/expected.json")["files"] as? [String: Any])
        let info = try XCTUnwrap(files[name] as? [String: Any], name)
        var tensors = try XCTUnwrap(info["tensors"] as? [String: [String: Any]], name)
        let groups = info["shared_storage_groups"] as? [[String]] ?? []
        for (path, _) in tensors { tensors[path]?["storage_group"] = path }
        for group in groups { for path in group { tensors[path]?["storage_group"] = group[0] } }
        return tensors
    }

    private func check(_ value: StateValue, against expected: [String: [String: Any]], name: String) throws {
        var groupStorage: [String: Storage] = [:]
        for (path, info) in expected.sorted(by: { $0.key < $1.key }) {
            let t = try XCTUnwrap(value[String(path.dropFirst())]?.tensor, "\(name) \(path)")
            XCTAssertEqual(t.dtype.rawValue, info["dtype"] as? String, "\(name) \(path)")
            XCTAssertEqual(t.shape, info["shape"] as? [Int], "\(name) \(path)")
            XCTAssertEqual(t.strides, info["stride"] as? [Int], "\(name) \(path)")
            XCTAssertEqual(t.storageOffset, info["storage_offset"] as? Int, "\(name) \(path)")
            XCTAssertEqual(t.storage.byteCount, (info["storage_numel"] as? Int ?? -1) * t.dtype.itemSize, "\(name) \(path)")
            XCTAssertEqual(sha(t), info["sha256"] as? String, "\(name) \(path): bytes differ from PyTorch's")
            let group = info["storage_group"] as! String
            if let s = groupStorage[group] {
                XCTAssertTrue(s === t.storage, "\(name) \(path) shares storage with \(group)")
            } else {
                groupStorage[group] = t.storage
            }
        }
        XCTAssertEqual(Set(groupStorage.values.map(ObjectIdentifier.init)).count, groupStorage.count,
                       "\(name): tensors that did not share storage in PyTorch do not share it here")
    }

    private func inspect(_ url: URL) throws -> [String: Any] {
        let report = try PthInspectTool.run(url)
        XCTAssertEqual(report.status, 0, "pth_inspect.py refused \(url.lastPathComponent): \(report.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
    }
}

/// A tensor's elements, contiguous, row-major, little-endian: what expected.json's `sha256` hashes.
func bytes(_ t: Tensor) -> Data {
    let c = t.isContiguous ? t : t.contiguous()
    guard c.numel > 0, let base = c.storage.data else { return Data() }
    return Data(bytes: base + c.storageOffset * c.dtype.itemSize, count: c.numel * c.dtype.itemSize)
}

/// sha256 of ``bytes(_:)`` in hex.
func sha(_ t: Tensor) -> String { SHA256Digest.hex(bytes(t)) }
