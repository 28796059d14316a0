import EmberIO
import Foundation
import XCTest

/// Every file in Fixtures/pth/hostile is refused with a clear ``EmberIOError`` (kind and the words the
/// README's "correct behaviour" column asks for), nothing is executed (`/tmp/PWNED_marker` never appears),
/// and the memory/time bombs return quickly. Source: Fixtures/pth/README.md, bug case B12.
final class PthHostileTests: XCTestCase {
    /// file → (kind, text the message must contain)
    private let expectations: [String: (EmberIOError.Kind, String)] = [
        "byteorder_unknown.pth": (.unknownByteOrder, "unknown byte order 'middle'"),
        "deep_nesting.pth": (.limitExceeded, "nesting deeper than"),
        "empty_file.pth": (.emptyFile, "empty"),
        "exec_builtins_eval.pth": (.forbiddenGlobal, "builtins.eval"),
        "exec_inst_opcode.pth": (.forbiddenOpcode, "opcode"),
        "exec_os_system.pth": (.forbiddenGlobal, "os.system"),
        "exec_stack_global.pth": (.forbiddenGlobal, "builtins.exec"),
        "legacy_truncated.pth": (.truncated, "ends"),
        "missing_storage.pth": (.missingRecord, "data/1"),
        "negative_size.pth": (.outOfBounds, "negative"),
        "no_data_pkl.pth": (.notACheckpoint, "no data.pkl"),
        "random_bytes.pth": (.notACheckpoint, "neither a zip archive nor a legacy"),
        "shape_overflow.pth": (.limitExceeded, "overflows"),
        "storage_bytes_not_multiple.pth": (.invalidStorage, "do not match"),
        "storage_key_path_traversal.pth": (.invalidStorage, "../../../../tmp/PWNED_marker"),
        "storage_offset_out_of_range.pth": (.outOfBounds, "offset 10"),
        "storage_record_short.pth": (.invalidStorage, "holds 24 bytes but storage '0' declares 100"),
        "tensor_exceeds_storage.pth": (.outOfBounds, "shape [100]"),
        "torch_prefix_global.pth": (.forbiddenGlobal, "torch.serialization.load"),
        "truncated.pth": (.truncated, "end of central directory not found"),
        "unknown_storage_type.pth": (.forbiddenGlobal, "torch.EvilStorage"),
        "zip_bomb_storage.pth": (.invalidStorage, "holds 67108864 bytes"),
    ]

    override func setUp() {
        try? FileManager.default.removeItem(atPath: "/tmp/PWNED_marker")
    }

    func testB12EveryHostilePthIsRefusedAndExecutesNothing() throws {
        let files = Fixtures.files(in: "pth/hostile", ext: "pth")
        XCTAssertEqual(files.count, 23)
        for url in files where url.lastPathComponent != "memo_blowup.pth" {
            let name = url.lastPathComponent
            guard let (kind, text) = expectations[name] else { XCTFail("no expectation for \(name)"); continue }
            let start = Date()
            XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url), name) { error in
                guard let e = error as? EmberIOError else { return XCTFail("\(name): \(error) is not an EmberIOError") }
                XCTAssertEqual(e.kind, kind, "\(name): \(e)")
                XCTAssertTrue(e.description.contains(text), "\(name): '\(e)' should mention '\(text)'")
                XCTAssertEqual(e.file, url.path, name)
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 2, "\(name) must be refused quickly")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/PWNED_marker"), "\(name) executed code")
        }
    }

    func testMemoBlowupKeepsSharingAndIsNotAStateDict() throws {
        // 60 levels, each list holding the previous one twice: 2^60 leaves if expanded.
        let start = Date()
        let checkpoint = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/hostile/memo_blowup.pth"))
        guard case .list(let top) = checkpoint.root, case .list(let a) = top.items[0], case .list(let b) = top.items[1]
        else { return XCTFail("expected a list of two lists") }
        XCTAssertTrue(a === b, "shared references are kept, not copied")
        XCTAssertEqual(checkpoint.tensors().count, 0)
        XCTAssertThrowsError(try checkpoint.stateDict()) { XCTAssertEqual(($0 as? EmberIOError)?.kind, .notAStateDict) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testB09DeviceTagsNeedMapLocation() throws {
        // A CPU checkpoint rewritten so its persistent ids say cuda:0 and mps (bug case B09).
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try PthCheckpoint.load(contentsOf: Fixtures.url("pth/module_state_dict.pth"))
        let url = dir.appendingPathComponent("gpu.pth")
        try PthWriter.save(original.root, to: url, deviceTag: { key in Int(key)! % 2 == 0 ? "cuda:0" : "mps" })
        XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url)) { error in
            let e = error as? EmberIOError
            XCTAssertEqual(e?.kind, .deviceLocation)
            XCTAssertTrue(e?.message.contains("cuda:0") == true && e?.message.contains("mapLocation") == true, "\(error)")
        }
        for mapping in [MapLocation.cpu, .mapping(["cuda:0": "cpu", "mps": "cpu"])] {
            let loaded = try PthCheckpoint.load(contentsOf: url, options: PthLoadOptions(mapLocation: mapping))
            let tags = Set(loaded.tensors().map(\.tensor.storage.savedLocation))
            XCTAssertEqual(tags, ["cuda:0", "mps"])
            for (a, b) in zip(original.tensors(), loaded.tensors()) {
                XCTAssertEqual(a.tensor.dtype, b.tensor.dtype, a.path)
                XCTAssertEqual(a.tensor.contiguousBytes(), b.tensor.contiguousBytes(), "\(a.path): bytes identical")
            }
        }
        XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url, options: PthLoadOptions(mapLocation: .mapping(["mps": "cpu"]))))
    }
}
