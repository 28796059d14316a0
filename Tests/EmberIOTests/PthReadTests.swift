import EmberCore
import EmberIO
import EmberTestSupport
import Foundation
import XCTest

/// Every valid `.pth` fixture (written by torch 2.13) read and compared with `expected.json`:
/// structure, dtype, shape, stride, storage_offset, storage size, sha256 of the bytes, Parameter flags and
/// shared-storage groups. Source: Fixtures/pth/README.md, Fixtures/buffers/README.md.
final class PthReadTests: XCTestCase {
    private static let dtypeNames: [String: DType] = [
        "float32": .float32, "float64": .float64, "float16": .float16, "bfloat16": .bfloat16, "int64": .int64,
        "int32": .int32, "int16": .int16, "int8": .int8, "uint8": .uint8, "bool": .bool,
    ]

    func testEveryValidPthFixtureMatchesExpectedJSON() throws {
        let expected = try Fixtures.json("pth/expected.json")
        let files = try XCTUnwrap(expected["files"] as? [String: [String: Any]])
        XCTAssertEqual(files.count, 18)
        for (name, spec) in files.sorted(by: { $0.key < $1.key }) where spec["structure"] != nil {
            try checkFile(Fixtures.url("pth/\(name)"), spec, name: name)
        }
    }

    func testByteorderBigIsSwappedToDtypesValues() throws {
        // byteorder_big.pth = dtypes.pth byte-swapped with byteorder 'big'; values must equal dtypes.pth.
        let big = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/byteorder_big.pth"))
        let little = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/dtypes.pth"))
        XCTAssertTrue(big.wasBigEndian)
        XCTAssertFalse(little.wasBigEndian)
        let a = big.tensors(), b = little.tensors()
        XCTAssertEqual(a.map(\.path), b.map(\.path))
        for (x, y) in zip(a, b) { XCTAssertEqual(x.tensor.contiguousBytes(), y.tensor.contiguousBytes(), x.path) }
    }

    func testUnsupportedDtypeNamesKeyAndStorageType() throws {
        // expected.json correct_behaviour: a clear error naming the key and the storage type (ComplexFloatStorage).
        let url = Fixtures.url("pth/unsupported_dtype.pth")
        XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url)) { error in
            let e = error as? EmberIOError
            XCTAssertEqual(e?.kind, .unsupportedDType)
            XCTAssertTrue(e?.message.contains("ComplexFloatStorage") == true, "\(error)")
            XCTAssertTrue(e?.message.contains("key /") == true, "\(error)")
        }
        var options = PthLoadOptions()
        options.keepUnsupported = true
        let kept = try PthCheckpoint.load(contentsOf: url, options: options)
        XCTAssertEqual(kept.tensors().count, 1, "the float32 tensor still loads")
    }

    func testStateDictAndMetadataOfBufferFixture() throws {
        // buffers/expected.json → ca_with_buffer_pth: keys, mask values 2.0 above the diagonal, _metadata.
        let expected = try BuffersFixture.json()
        let spec = try XCTUnwrap(expected["ca_with_buffer_pth"] as? [String: Any])
        let loaded = try XCTUnwrap(spec["loaded"] as? [String: Any])
        let checkpoint = try PthCheckpoint.load(contentsOf: BuffersFixture.url("ca_with_buffer.pth"))
        XCTAssertEqual(checkpoint.format, .zip(prefix: "ca_with_buffer/"))
        let sd = try checkpoint.stateDict()
        XCTAssertEqual(Array(sd.keys), loaded["keys"] as? [String])
        let tensors = try XCTUnwrap(loaded["tensors"] as? [String: [String: Any]])
        for (key, t) in sd {
            XCTAssertEqual(t.sha256, tensors[key]?["sha256"] as? String, key)
            XCTAssertEqual(t.shape, tensors[key]?["shape"] as? [Int], key)
        }
        let meta = try XCTUnwrap(checkpoint.root.dict?.metadata)
        XCTAssertEqual(jsonish(meta) as? NSDictionary, spec["loaded_metadata"] as? NSDictionary)
        XCTAssertEqual(checkpoint.root.dict?.isOrdered, true)
        let without = try PthCheckpoint.load(contentsOf: BuffersFixture.url("ca_without_buffer.pth"))
        XCTAssertEqual(Array(try without.stateDict().keys), ["W_query.weight", "W_key.weight", "W_value.weight"])
    }

    func testMmapModeReferencesTheFileWithoutCopying() throws {
        let url = Fixtures.url("pth/checkpoint.pth")
        let eager = try PthCheckpoint.load(contentsOf: url)
        let lazy = try PthCheckpoint.load(contentsOf: url, options: PthLoadOptions(mmap: true))
        XCTAssertEqual(eager.tensors().count, lazy.tensors().count)
        for (a, b) in zip(eager.tensors(), lazy.tensors()) {
            XCTAssertFalse(a.tensor.storage.isMapped)
            XCTAssertTrue(b.tensor.storage.isMapped, b.path)
            XCTAssertEqual(a.tensor.contiguousBytes(), b.tensor.contiguousBytes(), b.path)
        }
        // Deflated records cannot be mapped: they are inflated into private memory instead.
        let deflated = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/deflated_entries.pth"),
                                              options: PthLoadOptions(mmap: true))
        XCTAssertTrue(deflated.tensors().allSatisfy { !$0.tensor.storage.isMapped })
    }

    // MARK: - Comparison against expected.json

    private func checkFile(_ url: URL, _ spec: [String: Any], name: String) throws {
        let checkpoint: PthCheckpoint
        do { checkpoint = try PthCheckpoint.load(contentsOf: url) } catch {
            XCTFail("\(name): \(error)"); return
        }
        let tensorSpecs = spec["tensors"] as? [String: [String: Any]] ?? [:]
        var seenPaths = Set<String>()
        compare(checkpoint.root, spec["structure"] as Any, path: "", file: name, tensors: tensorSpecs, seen: &seenPaths)
        XCTAssertEqual(seenPaths, Set(tensorSpecs.keys), "\(name): tensor paths")
        // Shared storage groups: the same StorageRecord object after loading, and no other sharing.
        let all = Dictionary(checkpoint.tensors().map { ($0.path, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let groups = spec["shared_storage_groups"] as? [[String]] ?? []
        var grouped = Set<String>()
        for group in groups {
            let storages = group.compactMap { all[$0]?.storage }
            XCTAssertEqual(storages.count, group.count, "\(name): \(group)")
            XCTAssertTrue(storages.allSatisfy { $0 === storages[0] }, "\(name): \(group) must share one StorageRecord")
            grouped.formUnion(group)
        }
        let ungrouped = all.filter { !grouped.contains($0.key) }
        let distinct = Set(ungrouped.values.map { ObjectIdentifier($0.storage) })
        XCTAssertEqual(distinct.count, ungrouped.count, "\(name): tensors outside groups share nothing")
    }

    private func compare(_ v: PickleValue, _ e: Any, path: String, file: String,
                         tensors: [String: [String: Any]], seen: inout Set<String>) {
        let at = "\(file) \(path.isEmpty ? "<root>" : path)"
        if e is NSNull { guard case .none = v else { return XCTFail("\(at): expected None, got \(v)") }; return }
        if let s = e as? String { XCTAssertEqual(v.string, s, at); return }
        if let n = e as? NSNumber { // bare numbers in `structure` are bools (ints are {"int": n})
            guard case .bool(let b) = v else { return XCTFail("\(at): expected bool") }
            XCTAssertEqual(b, n.boolValue, at); return
        }
        guard let obj = e as? [String: Any] else { return XCTFail("\(at): unexpected spec \(e)") }
        if let n = obj["int"] as? NSNumber { XCTAssertEqual(v.int, n.int64Value, at); return }
        if let n = obj["float"] as? NSNumber {
            guard case .float(let f) = v else { return XCTFail("\(at): expected float") }
            XCTAssertEqual(f, n.doubleValue, at); return
        }
        if let p = obj["tensor"] as? String {
            guard let t = v.tensor, let spec = tensors[p] else { return XCTFail("\(at): expected tensor \(p)") }
            XCTAssertEqual(p, path, at)
            seen.insert(p)
            XCTAssertEqual(t.dtype, Self.dtypeNames[spec["dtype"] as? String ?? ""], at)
            XCTAssertEqual(t.shape, spec["shape"] as? [Int], at)
            XCTAssertEqual(t.strides, spec["stride"] as? [Int], at)
            XCTAssertEqual(t.storageOffset, spec["storage_offset"] as? Int, at)
            XCTAssertEqual(t.storage.elementCount, spec["storage_numel"] as? Int, at)
            XCTAssertEqual(t.dtype.storageClassName, spec["storage_class"] as? String, at)
            XCTAssertEqual(t.sha256, spec["sha256"] as? String, "\(at): sha256 of contiguous bytes")
            if let isParam = spec["is_parameter"] as? Bool { XCTAssertEqual(t.isParameter, isParam, at) }
            if let rg = spec["requires_grad"] as? Bool { XCTAssertEqual(t.requiresGrad, rg, at) }
            return
        }
        let items = obj["items"] as? [Any] ?? []
        switch obj["type"] as? String {
        case "dict", "OrderedDict":
            guard let d = v.dict else { return XCTFail("\(at): expected dict") }
            XCTAssertEqual(d.isOrdered, obj["type"] as? String == "OrderedDict", at)
            XCTAssertEqual(d.items.count, items.count, at)
            for (pair, (k, value)) in zip(items, d.items) {
                guard let kv = pair as? [Any], kv.count == 2 else { return XCTFail("\(at): bad spec") }
                if let ks = kv[0] as? String { XCTAssertEqual(k, .string(ks), at) }
                else if let ki = kv[0] as? NSNumber { XCTAssertEqual(k, .int(ki.int64Value), at) }
                compare(value, kv[1], path: "\(path)/\(k)", file: file, tensors: tensors, seen: &seen)
            }
            if let meta = obj["_metadata"] as? [[Any]] {
                guard let m = d.metadata?.dict else { return XCTFail("\(at): _metadata missing") }
                XCTAssertEqual(m.items.keys.map(\.description), meta.map { "\($0[0])" }, at)
                for (pair, value) in zip(meta, m.items.values) {
                    XCTAssertEqual(jsonish(value) as? NSDictionary, pair[1] as? NSDictionary, "\(at) _metadata")
                }
            }
        case "list", "tuple":
            guard let elements = v.elements else { return XCTFail("\(at): expected sequence") }
            if case .tuple = v { XCTAssertEqual(obj["type"] as? String, "tuple", at) }
            XCTAssertEqual(elements.count, items.count, at)
            for (i, (x, y)) in zip(elements, items).enumerated() {
                compare(x, y, path: "\(path)/\(i)", file: file, tensors: tensors, seen: &seen)
            }
        default:
            XCTFail("\(at): unknown spec type \(obj)")
        }
    }
}

/// A PickleValue of plain data as Foundation JSON objects (for comparing `_metadata`).
func jsonish(_ v: PickleValue) -> Any {
    switch v {
    case .none: return NSNull()
    case .bool(let b): return b
    case .int(let i): return NSNumber(value: i)
    case .float(let f): return f
    case .string(let s): return s
    case .dict(let d):
        var out: [String: Any] = [:]
        for (k, x) in d.items { out[k.description] = jsonish(x) }
        return out
    default: return v.elements.map { $0.map(jsonish) } ?? "\(v)"
    }
}
