import EmberCore
@testable import EmberIO
import Foundation
import OrderedCollections
import XCTest

/// The zip CRC-32: zlib's `crc32_z` (when loaded) and the slicing-by-8 fallback agree, and a record whose
/// bytes changed after saving is refused on load (records are copied and checksummed chunk by chunk).
final class ChecksumTests: XCTestCase {
    func testZlibAndTableChecksumsAgree() {
        XCTAssertEqual(CRC32.checksum(Data("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.tableChecksum(UnsafeRawBufferPointer(start: nil, count: 0)), 0)
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<70_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes.withUnsafeBytes { raw in
            for (start, count) in [(0, 0), (0, 1), (3, 7), (1, 64), (5, 1000), (0, 70_000), (13, 65_537)] {
                let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)])
                XCTAssertEqual(CRC32.checksum(slice), CRC32.tableChecksum(slice), "\(start)+\(count)")
                // Continuing from a previous value, as the chunked copy does.
                let half = count / 2
                let a = CRC32.checksum(UnsafeRawBufferPointer(rebasing: slice[0..<half]))
                XCTAssertEqual(CRC32.checksum(UnsafeRawBufferPointer(rebasing: slice[half...]), crc: a),
                               CRC32.tableChecksum(slice), "\(start)+\(count) in two parts")
            }
        }
    }

    func testCorruptedRecordIsRefused() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("crc.pth")
        // 600,000 int64 (4.8 MB: several copy chunks), then one byte flipped in the last chunk of the record.
        let t = Tensor.arange(600_000)
        try save(.stateDict(["w": t]), to: url)
        XCTAssertEqual(try load(url)["w"]?.tensor?.toInt64s(), t.toInt64s())
        var file = try Data(contentsOf: url)
        let pattern = withUnsafeBytes(of: Int64(599_990).littleEndian) { Data($0) }
        let at = try XCTUnwrap(file.range(of: pattern)).lowerBound
        file[at] ^= 0x01
        try file.write(to: url)
        XCTAssertThrowsError(try load(url)) {
            XCTAssertEqual(($0 as? EmberIOError)?.kind, .malformedZip, "\($0)")
            XCTAssertTrue("\($0)".contains("CRC-32"), "\($0)")
        }
        // The check can still be turned off explicitly; the flipped byte then comes through.
        var options = PthLoadOptions()
        options.verifyChecksums = false
        XCTAssertNoThrow(try PthCheckpoint.load(contentsOf: url, options: options))
    }
}
