@testable import EmberIO
import EmberTestSupport
import Foundation
import XCTest

/// Issue 13: hand-crafted hostile files (built here by ``HostileFiles``, small and structurally valid)
/// are refused with one clear ``EmberIOError`` — no stack overflow, no allocation trap, no hang — in both
/// the zip and the legacy format.
final class HostileInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Both containers for one object pickle (and its storages).
    func both(_ pickle: [UInt8], _ name: String, storages: [(key: String, bytes: [UInt8])] = []) throws -> [URL] {
        let zip = HostileFiles.zipPth(pickle: pickle, records: storages.map { .init("archive/data/\($0.key)", $0.bytes) })
        let legacy = HostileFiles.legacyPth(object: pickle,
                                            storages: storages.map { ($0.key, Int64($0.bytes.count / 4), $0.bytes) })
        return [try write(zip, name + ".zip.pth"), try write(legacy, name + ".legacy.pth")]
    }

    func assertRefused(_ url: URL, _ kind: EmberIOError.Kind, _ text: String, options: PthLoadOptions = PthLoadOptions(),
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url, options: options), url.lastPathComponent,
                             file: file, line: line) { error in
            guard let e = error as? EmberIOError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(text), "'\(e)' should mention '\(text)'", file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e)", file: file, line: line)
        }
    }

    // MARK: - 1. Deep nesting

    func testHundredThousandDeepTorchSizeTuplesAreRefused() throws {
        for url in try both(HostileFiles.deepSizePickle(depth: 100_000), "deep_size") {
            assertRefused(url, .limitExceeded, "nesting deeper than 256 levels")
        }
    }

    func testHundredThousandDeepDictKeyIsRefused() throws {
        for url in try both(HostileFiles.deepKeyPickle(depth: 100_000), "deep_key") {
            assertRefused(url, .limitExceeded, "nesting deeper than 256 levels")
        }
    }

    func testHundredThousandBuildLinkedDictsAreRefused() throws {
        for url in try both(HostileFiles.buildChainPickle(depth: 100_000), "build_chain") {
            assertRefused(url, .limitExceeded, "nesting deeper than 256 levels")
        }
    }

    func testNestingUpToTheLimitLoadsAndWalks() throws {
        // 255 torch.Size levels under a dict key and as the value: within the limit, read and walked.
        for url in try both(HostileFiles.deepSizePickle(depth: 255), "deep_ok") {
            let checkpoint = try PthCheckpoint.load(contentsOf: url)
            var deepest = 0
            checkpoint.root.walk { path, _ in deepest = max(deepest, path.split(separator: "/").count); return true }
            XCTAssertEqual(deepest, 255) // 255 tuples around the innermost ()
        }
        var options = PthLoadOptions()
        options.limits.maxDepth = 10
        for url in try both(HostileFiles.deepSizePickle(depth: 11), "deep_11") {
            assertRefused(url, .limitExceeded, "nesting deeper than 10 levels", options: options)
        }
    }

    // MARK: - 2. Sizes that lie

    func testStrideZeroViewOfTwoToTheFortyIsRefusedByTheBudget() throws {
        let pickle = HostileFiles.tensorDictPickle(numel: 4, shape: [1 << 40], strides: [0])
        for url in try both(pickle, "stride0", storages: [("0", HostileFiles.floats([1, 2, 3, 4]))]) {
            assertRefused(url, .limitExceeded, "tensor at key /w of shape [1099511627776], stride [0]")
        }
    }

    func testStrideZeroViewWithinTheBudgetHashesWithoutCopying() throws {
        // [2^20] stride [0] on a 4-element storage: 4 MiB logical, 1 distinct value; the streamed hash
        // equals the hash of the materialised bytes.
        let pickle = HostileFiles.tensorDictPickle(numel: 4, shape: [1 << 20], strides: [0], offset: 2)
        for url in try both(pickle, "stride0_ok", storages: [("0", HostileFiles.floats([1, 2, 3, 4]))]) {
            let t = try XCTUnwrap(try PthCheckpoint.load(contentsOf: url).stateDict()["w"])
            XCTAssertEqual(t.sha256Hex(), SHA256Digest.hex(t.contiguousBytes()))
            XCTAssertEqual(t.sha256Hex(), SHA256Digest.hex(Data(HostileFiles.floats([Float](repeating: 3, count: 1 << 20)))))
            var tight = PthLoadOptions()
            tight.memoryBudget = (1 << 22) - 1
            assertRefused(url, .limitExceeded, "memory budget of 4194303 bytes", options: tight)
        }
    }

    func testDeflatedRecordDeclaringTwoToTheFortyBytesIsRefused() throws {
        // A storage of 2^38 float32 elements backed by a deflated ZIP64 record that declares 2^40 bytes.
        let pickle = HostileFiles.tensorDictPickle(numel: 1 << 38, shape: [4], strides: [1])
        let record = HostileFiles.Member("archive/data/0", HostileFiles.floats([1, 2, 3, 4]), deflated: true,
                                         declaredSize: 1 << 40, zip64: true)
        let url = try write(HostileFiles.zipPth(pickle: pickle, records: [record]), "bomb.pth")
        assertRefused(url, .limitExceeded, "storage '0' needs 1099511627776 bytes, past the load's memory budget")
        var mapped = PthLoadOptions(mmap: true)
        mapped.verifyChecksums = false
        assertRefused(url, .limitExceeded, "1099511627776 bytes", options: mapped)
    }

    func testDeflatedPickleDeclaringTwoToTheFortyBytesIsRefused() throws {
        let pickle = HostileFiles.tensorDictPickle(numel: 4, shape: [4], strides: [1])
        let bytes = HostileFiles.zip([
            .init("archive/data.pkl", pickle, deflated: true, declaredSize: 1 << 40, zip64: true),
            .init("archive/data/0", HostileFiles.floats([1, 2, 3, 4])),
        ])
        assertRefused(try write(bytes, "pkl_bomb.pth"), .limitExceeded, "deflated entry archive/data.pkl needs 1099511627776 bytes")
    }

    func testHonestDeflatedRecordLoadsAndTheBudgetIsSettable() throws {
        let pickle = HostileFiles.tensorDictPickle(numel: 32, shape: [32], strides: [1])
        let values = (0..<32).map { Float($0) }
        let record = HostileFiles.Member("archive/data/0", HostileFiles.floats(values), deflated: true)
        let url = try write(HostileFiles.zipPth(pickle: pickle, records: [record]), "deflated.pth")
        let t = try XCTUnwrap(try PthCheckpoint.load(contentsOf: url).stateDict()["w"])
        XCTAssertEqual(t.contiguousBytes(), Data(HostileFiles.floats(values)))
        var options = PthLoadOptions()
        options.memoryBudget = 100
        assertRefused(url, .limitExceeded, "memory budget of 100 bytes", options: options)
    }

    // MARK: - 4. NaN keys

    func testManyNaNFloatKeysAreLinear() throws {
        for url in try both(HostileFiles.nanKeysPickle(count: 100_000), "nan_keys") {
            let root = try PthCheckpoint.load(contentsOf: url).root
            let d = try XCTUnwrap(root.dict)
            XCTAssertEqual(d.items.count, 1)               // one bit pattern: one key, the last value
            XCTAssertEqual(d.items.values.first?.int, 99_999)
        }
    }

    // MARK: - 5. Files that change or are not files

    func testFIFOsDevicesAndDirectoriesAreRefusedWithoutBlocking() throws {
        let fifo = dir.appendingPathComponent("pipe.pth")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        assertRefused(fifo, .fileUnreadable, "is a named pipe (FIFO), not a regular file")
        assertRefused(dir, .fileUnreadable, "is a directory, not a regular file")
        assertRefused(URL(fileURLWithPath: "/dev/zero"), .fileUnreadable, "is a character device, not a regular file")
        assertRefused(dir.appendingPathComponent("missing.pth"), .fileUnreadable, "cannot open: no such file")
        XCTAssertThrowsError(try SafetensorsFile.load(contentsOf: fifo)) {
            XCTAssertTrue("\($0)".contains("named pipe"), "\($0)")
        }
        XCTAssertThrowsError(try InspectListing(contentsOf: fifo))
        XCTAssertEqual(RegularFile.problem(fifo.path), "is a named pipe (FIFO), not a regular file")
        XCTAssertNil(RegularFile.problem(try write([1, 2, 3], "plain.bin").path))
    }

    func testAFileTruncatedWhileMappedIsAnErrorNotASignal() throws {
        let pickle = HostileFiles.tensorDictPickle(numel: 1024, shape: [1024], strides: [1])
        let url = try write(HostileFiles.zipPth(pickle: pickle, records: [.init("archive/data/0", HostileFiles.floats(.init(repeating: 1, count: 1024)))]),
                            "shrinks.pth")
        let file = try MappedFile(path: url.path)
        XCTAssertNoThrow(try file.checkUnchanged())
        XCTAssertEqual(truncate(url.path, 100), 0)
        XCTAssertThrowsError(try file.checkUnchanged()) { error in
            XCTAssertEqual((error as? EmberIOError)?.kind, .truncated)
            XCTAssertTrue("\(error)".contains("shrank from \(file.count) to 100 bytes"), "\(error)")
        }
    }

    // MARK: - 6. Names from files are escaped

    func testControlCharactersInNamesAreEscaped() throws {
        // A refused global whose module name clears the screen, and a dict key with ESC and NUL.
        var p = PickleBytes()
        p.global("os\u{1B}[2J", "system"); p.stop()
        let url = try write(HostileFiles.zipPth(pickle: p.bytes), "esc_global.pth")
        assertRefused(url, .forbiddenGlobal, "refused global os\\x1b[2J.system")
        XCTAssertThrowsError(try PthCheckpoint.load(contentsOf: url)) { error in
            XCTAssertFalse("\(error)".unicodeScalars.contains { $0.value < 0x20 }, "\(error)")
        }

        var q = PickleBytes()
        q.emptyDict(); q.string("a\u{1B}]0;pwned\u{07}b\u{0}c"); q.int(1); q.setItem(); q.stop()
        let keyed = try write(HostileFiles.zipPth(pickle: q.bytes), "esc_key.pth")
        let listing = try InspectListing(contentsOf: keyed).text
        XCTAssertTrue(listing.contains("a\\x1b]0;pwned\\x07b\\x00c"), listing)
        XCTAssertFalse(listing.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, listing)
        let json = try PthInspector.json(contentsOf: keyed)
        XCTAssertTrue(json.contains("a\\u001b]0;pwned\\u0007b\\u0000c"), json)
        XCTAssertEqual(TerminalText.escaped("ok \u{9B}x\ny"), "ok \\u{9b}x\\x0ay")
        XCTAssertEqual(TerminalText.escaped("line\nnext", keepNewlines: true), "line\nnext")
    }

    // MARK: - 7. Leftovers from interrupted saves

    func testStaleTemporaryFilesAreRemovedByTheNextSave() throws {
        let target = dir.appendingPathComponent("model.pth")
        let stale = dir.appendingPathComponent(".model.pth.tmp-AbC123")
        try Data(count: 4096).write(to: stale)
        // One held by a live writer (its flock) must survive.
        let live = dir.appendingPathComponent(".model.pth.tmp-LiVe99")
        try Data(count: 16).write(to: live)
        let fd = open(live.path, O_RDONLY)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        defer { close(fd) }
        let other = dir.appendingPathComponent(".other.pth.tmp-AbC123")
        try Data(count: 16).write(to: other)
        try AtomicFileWriter.write(to: target) { sink in try sink.write([1, 2, 3]) }
        XCTAssertEqual(try Data(contentsOf: target), Data([1, 2, 3]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "stale temporary file left behind")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live writer's file was removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.path), "another file's temporary was removed")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
                       ["model.pth", ".model.pth.tmp-LiVe99", ".other.pth.tmp-AbC123"])
    }
}
