import EmberCore
import EmberIO
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest

/// safetensors fixtures (written by safetensors 0.8.0) against expected.json, every hostile file refused,
/// and Ember-written files read back by pth_inspect.py. Source: Fixtures/safetensors/README.md, bug cases B08, B13, B14.
final class SafetensorsTests: XCTestCase {
    func testEveryValidFileMatchesExpectedJSON() throws {
        let expected = try Fixtures.json("safetensors/expected.json")
        let files = try XCTUnwrap(expected["files"] as? [String: [String: Any]])
        XCTAssertEqual(files.count, 6)
        for (name, spec) in files {
            for mapped in [true, false] {
                let file = try SafetensorsFile.load(contentsOf: Fixtures.url("safetensors/\(name)"), mapped: mapped)
                let tensors = try XCTUnwrap(spec["tensors"] as? [String: [String: Any]])
                XCTAssertEqual(Set(file.tensors.keys), Set(tensors.keys), name)
                if let order = spec["data_order"] as? [String] { // the buffer order the reference wrote
                    let ranges = order.compactMap { file.tensors[$0]?.dataOffsets }
                    XCTAssertEqual(ranges.count, order.count, name)
                    XCTAssertTrue(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, name)
                }
                let meta = spec["metadata"] as? [String: String]
                if spec.keys.contains("metadata") { XCTAssertEqual(file.metadata.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key, $0.value) }) }, meta, name) }
                for (key, t) in tensors {
                    let got = try XCTUnwrap(file.tensors[key], "\(name) \(key)")
                    XCTAssertEqual(got.elementType.torchName, t["dtype"] as? String, "\(name) \(key)")
                    XCTAssertEqual(got.shape, t["shape"] as? [Int], "\(name) \(key)")
                    if let offs = t["data_offsets"] as? [Int] { XCTAssertEqual([got.dataOffsets.lowerBound, got.dataOffsets.upperBound], offs) }
                    XCTAssertEqual(SHA256Digest.hex(got.bytes), t["sha256"] as? String, "\(name) \(key) sha256")
                    if got.elementType.dtype != nil {
                        XCTAssertEqual(try got.tensorRecord().sha256, t["sha256"] as? String)
                    } else {
                        // extended_dtypes: read, but refused for Tensor with a message naming key and dtype.
                        XCTAssertThrowsError(try got.tensorRecord()) { e in
                            XCTAssertTrue("\(e)".contains(key) && "\(e)".contains(got.elementType.rawValue), "\(e)")
                        }
                    }
                }
            }
        }
    }

    func testStateDictSafetensorsEqualsThePthStateDict() throws {
        // state_dict.safetensors is buffers/ca_with_buffer.pth converted: identical tensors.
        let st = try SafetensorsFile.load(contentsOf: Fixtures.url("safetensors/state_dict.safetensors"))
        let pth = try PthCheckpoint.load(contentsOf: BuffersFixture.url("ca_with_buffer.pth")).stateDict()
        XCTAssertEqual(Set(st.tensors.keys), Set(pth.keys))
        for (k, t) in pth { XCTAssertEqual(st.tensors[k]?.bytes, t.contiguousBytes(), k) }
    }

    func testEveryHostileFileIsRefused() throws {
        let expectations: [String: (EmberIOError.Kind, String)] = [
            "dtype_shape_mismatch.safetensors": (.invalidOffsets, "needs 24 bytes but data_offsets span 20"),
            "duplicate_keys.safetensors": (.duplicateKey, "more than once"),
            "empty_file.safetensors": (.truncated, "too short"),
            "gap_between_tensors.safetensors": (.invalidOffsets, "unused bytes"),
            "header_len_exceeds_file.safetensors": (.truncated, "header length 1000 runs past the end"),
            "header_len_over_100mb.safetensors": (.malformedHeader, "header too large"),
            "header_len_zero.safetensors": (.malformedHeader, "empty header"),
            "header_not_json.safetensors": (.malformedHeader, "not valid JSON"),
            "header_not_object.safetensors": (.malformedHeader, "must be a JSON object"),
            "header_not_utf8.safetensors": (.malformedHeader, "not valid UTF-8"),
            "metadata_not_strings.safetensors": (.malformedHeader, "__metadata__ must map strings to strings"),
            "missing_field.safetensors": (.malformedHeader, "no 'data_offsets' field"),
            "negative_shape.safetensors": (.malformedHeader, "non-negative"),
            "offsets_out_of_range.safetensors": (.invalidOffsets, "data_offsets of 'w' end at 1000, past the"),
            "offsets_overlap.safetensors": (.invalidOffsets, "overlap"),
            "offsets_reversed.safetensors": (.invalidOffsets, "end before they begin"),
            "shape_overflow.safetensors": (.limitExceeded, "overflows"),
            "too_short.safetensors": (.truncated, "too short"),
            "trailing_bytes.safetensors": (.invalidOffsets, "trailing bytes after the last tensor 'w'"),
            "unknown_dtype.safetensors": (.unsupportedDType, "unknown dtype 'F128'"),
            "zero_length_with_bytes.safetensors": (.invalidOffsets, "needs 0 bytes"),
        ]
        let files = Fixtures.files(in: "safetensors/hostile", ext: "safetensors")
        XCTAssertEqual(files.count, expectations.count)
        for url in files {
            let name = url.lastPathComponent
            guard let (kind, text) = expectations[name] else { XCTFail("no expectation for \(name)"); continue }
            XCTAssertThrowsError(try SafetensorsFile.load(contentsOf: url), name) { error in
                guard let e = error as? EmberIOError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(e.kind, kind, "\(name): \(e)")
                XCTAssertTrue(e.message.contains(text), "\(name): '\(e.message)' should mention '\(text)'")
            }
        }
    }

    func testB14HeaderLengthCases() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // (a) FF×8 then {}  (b) a Git-LFS pointer  (c) length = file size − 8 + 1
        let a = Data([UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8))
        let b = Data("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n".utf8)
        var c = Data(le: UInt64(3)); c.append(Data("{}".utf8))
        for (label, data) in [("a", a), ("b", b), ("c", c)] {
            XCTAssertThrowsError(try SafetensorsFile.load(data: data), label) { error in
                let m = (error as? EmberIOError)?.message ?? ""
                XCTAssertTrue(m.contains("header too large") || m.contains("runs past the end"), "\(label): \(m)")
            }
        }
        // (d) a valid file loads (written by Ember, read by pth_inspect.py too).
        let url = dir.appendingPathComponent("d.safetensors")
        let src = try SafetensorsFile.load(contentsOf: Fixtures.url("safetensors/all_dtypes.safetensors"))
        var records = OrderedDictionary<String, TensorRecord>()
        for (k, t) in src.tensors { records[k] = try t.tensorRecord() }
        try SafetensorsWriter.save(records, metadata: src.metadata, to: url)
        let back = try SafetensorsFile.load(contentsOf: url)
        XCTAssertEqual(back.metadata, src.metadata)
        for (k, t) in src.tensors { XCTAssertEqual(back.tensors[k]?.bytes, t.bytes, k) }
        let report = try PthInspectTool.run(url)
        XCTAssertEqual(report.status, 0, report.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: [String: Any]])
        for (k, t) in src.tensors { XCTAssertEqual(json[k]?["sha256"] as? String, SHA256Digest.hex(t.bytes), k) }
        // Byte-identical to the reference writer (same order, padding), this file has one-order metadata.
        let single = try SafetensorsFile.load(contentsOf: Fixtures.url("safetensors/zero_length_and_scalar.safetensors"))
        var r2 = OrderedDictionary<String, TensorRecord>()
        for (k, t) in single.tensors { r2[k] = try t.tensorRecord() }
        let url2 = dir.appendingPathComponent("z.safetensors")
        try SafetensorsWriter.save(r2, metadata: single.metadata, to: url2)
        XCTAssertEqual(try Data(contentsOf: url2), try Data(contentsOf: Fixtures.url("safetensors/zero_length_and_scalar.safetensors")))
    }

    func testB08SafetensorsRefusesSharedStorageNamingThePair() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = try StorageRecord(key: "w", dtype: .float32, elementCount: 4, bytes: Data(count: 16))
        let w = try TensorRecord(storage: storage, shape: [2, 2])
        let url = dir.appendingPathComponent("tied.safetensors")
        XCTAssertThrowsError(try SafetensorsWriter.save(["tok_emb.weight": w, "out_head.weight": w], to: url)) { error in
            XCTAssertEqual((error as? EmberIOError)?.kind, .sharedMemory)
            XCTAssertTrue("\(error)".contains("{tok_emb.weight, out_head.weight}"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testB13SafetensorsTruncatedInsideData() throws {
        let data = try Data(contentsOf: Fixtures.url("safetensors/all_dtypes.safetensors"))
        XCTAssertThrowsError(try SafetensorsFile.load(data: data.prefix(data.count - 10))) { error in
            XCTAssertEqual((error as? EmberIOError)?.kind, .invalidOffsets)
            XCTAssertTrue("\(error)".contains("past the"), "\(error)")
        }
    }
}

extension Data {
    init(le value: UInt64) { self.init((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }) }
}
