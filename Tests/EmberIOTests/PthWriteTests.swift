import EmberCore
import EmberIO
import Foundation
import OrderedCollections
import XCTest

/// Files written by ``PthWriter`` are read by the shared `pth_inspect.py` (same allowlist as
/// `torch.load(weights_only=True)`), its sha256 per tensor equals the bytes we wrote, and our reader gets
/// back the same structure, bytes and storage sharing. Source: Fixtures/pth/README.md (format reminders).
final class PthWriteTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Every readable fixture rewritten by Ember: checked by pth_inspect.py and read back.
    func testRoundTripEveryValidFixtureThroughPthInspect() throws {
        let skip: Set = ["unsupported_dtype.pth"]
        for source in Fixtures.files(in: "pth", ext: "pth") where !skip.contains(source.lastPathComponent) {
            let name = source.lastPathComponent
            let original = try PthCheckpoint.load(contentsOf: source)
            let url = dir.appendingPathComponent(name)
            try PthWriter.save(original.root, to: url)
            let back = try PthCheckpoint.load(contentsOf: url)
            XCTAssertEqual(back.format, .zip(prefix: url.deletingPathExtension().lastPathComponent + "/"), name)
            let a = original.tensors(), b = back.tensors()
            XCTAssertEqual(a.map(\.path), b.map(\.path), name)
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x.tensor.shape, y.tensor.shape, "\(name) \(x.path)")
                XCTAssertEqual(x.tensor.strides, y.tensor.strides, "\(name) \(x.path)")
                XCTAssertEqual(x.tensor.storageOffset, y.tensor.storageOffset, "\(name) \(x.path)")
                XCTAssertEqual(x.tensor.isParameter, y.tensor.isParameter, "\(name) \(x.path)")
                XCTAssertEqual(x.tensor.requiresGrad, y.tensor.requiresGrad, "\(name) \(x.path)")
                XCTAssertEqual(x.tensor.contiguousBytes(), y.tensor.contiguousBytes(), "\(name) \(x.path)")
            }
            assertSameSharing(a, b, name)
            XCTAssertEqual(back.root.dict?.metadata.map(jsonish) as? NSDictionary,
                           original.root.dict?.metadata.map(jsonish) as? NSDictionary, "\(name) _metadata")
            try checkWithPthInspect(url, expected: b, name: name)
        }
    }

    func testZipLayoutIsTorchs() throws {
        let original = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/tied_view.pth"))
        let url = dir.appendingPathComponent("model.pth")
        try PthWriter.save(original.root, to: url)
        let data = try Data(contentsOf: url)
        // Parse local headers in order: names, STORED, 64-byte aligned data.
        var names: [String] = []
        var offset = 0
        while offset + 30 <= data.count, data[offset] == 0x50, data[offset + 1] == 0x4B, data[offset + 2] == 3 {
            func u16(_ o: Int) -> Int { Int(data[offset + o]) | Int(data[offset + o + 1]) << 8 }
            func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
            XCTAssertEqual(u16(8), 0, "STORED")
            let n = u16(26), x = u16(28), size = u32(18)
            names.append(String(decoding: data[(offset + 30)..<(offset + 30 + n)], as: UTF8.self))
            let start = offset + 30 + n + x
            XCTAssertEqual(start % 64, 0, "\(names.last!) data is 64-byte aligned")
            offset = start + size
        }
        XCTAssertEqual(names, ["model/data.pkl", "model/.format_version", "model/.storage_alignment", "model/byteorder",
                               "model/data/0", "model/version", "model/.data/serialization_id"])
    }

    func testB08TiedWeightsAreWrittenOnceAndReloadTied() throws {
        // B08: for .pth both keys may reference one storage (data written once); after loading they share memory.
        let storage = try StorageRecord(key: "w", dtype: .float32, elementCount: 6,
                                        bytes: Data((0..<6).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }))
        let emb = try TensorRecord(storage: storage, shape: [3, 2], isParameter: true)
        var sd = OrderedDictionary<String, TensorRecord>()
        sd["tok_emb.weight"] = emb
        sd["out_head.weight"] = emb
        let url = dir.appendingPathComponent("tied.pth")
        try PthWriter.save(stateDict: sd, metadata: ["": 1, "tok_emb": 1, "out_head": 1], to: url)
        let back = try PthCheckpoint.load(contentsOf: url).stateDict()
        XCTAssertTrue(back["tok_emb.weight"]!.storage === back["out_head.weight"]!.storage)
        let archive = try Data(contentsOf: url)
        let report = try PthInspectTool.run(url, patchMetadata: true)
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("\"tok_emb.weight\""))
        // data/0 only: one record for the pair.
        let listing = String(decoding: archive, as: UTF8.self)
        XCTAssertTrue(listing.contains("tied/data/0") && !listing.contains("tied/data/1"))
    }

    // MARK: - Helpers

    private func assertSameSharing(_ a: [(path: String, tensor: TensorRecord)], _ b: [(path: String, tensor: TensorRecord)],
                                   _ name: String) {
        for i in a.indices { for j in a.indices where j > i {
            XCTAssertEqual(a[i].tensor.storage === a[j].tensor.storage, b[i].tensor.storage === b[j].tensor.storage,
                           "\(name): sharing of \(a[i].path) and \(a[j].path)")
        } }
    }

    private func checkWithPthInspect(_ url: URL, expected: [(path: String, tensor: TensorRecord)], name: String) throws {
        var hasMetadata = false
        try PthCheckpoint.load(contentsOf: url).root.walk { _, v in
            if v.dict?.metadata != nil { hasMetadata = true }
            return !hasMetadata
        }
        let report = try PthInspectTool.run(url, patchMetadata: hasMetadata)
        XCTAssertEqual(report.status, 0, "\(name): pth_inspect refused our file: \(report.stderr)")
        guard let json = try? JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) else {
            return XCTFail("\(name): pth_inspect printed no JSON")
        }
        for (path, tensor) in expected {
            var node: Any? = json
            for component in path.split(separator: "/", omittingEmptySubsequences: true) {
                if let d = node as? [String: Any] { node = d[String(component)] }
                else if let l = node as? [Any], let i = Int(component), i < l.count { node = l[i] } else { node = nil }
            }
            guard let t = node as? [String: Any] else { XCTFail("\(name): \(path) missing in pth_inspect output"); continue }
            XCTAssertEqual(t["sha256"] as? String, tensor.sha256, "\(name) \(path): sha256 printed vs bytes written")
            XCTAssertEqual(t["shape"] as? [Int], tensor.shape, "\(name) \(path)")
            XCTAssertEqual(t["stride"] as? [Int], tensor.strides, "\(name) \(path)")
            XCTAssertEqual(t["storage_offset"] as? Int, tensor.storageOffset, "\(name) \(path)")
        }
    }
}
