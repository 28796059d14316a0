import Foundation
import ZIPFoundation

/// Writes a zip archive the way PyTorch's `PyTorchStreamWriter` does: every entry STORED, each record's
/// data starting on a 64-byte boundary (padding in an `FB` extra field), ZIP64 records when an entry,
/// offset or count does not fit 32/16 bits. Source: caffe2/serialize/inline_container.cc; PKWARE APPNOTE 6.3.
struct ZipArchiveWriter {
    static let alignment = 64
    private struct Written { let name: [UInt8]; let crc: UInt32; let size: Int; let offset: Int }
    private var written: [Written] = []

    /// Appends one STORED entry; `crc` is the CRC-32 of `data` when the caller has it already.
    mutating func add(_ name: String, _ data: Data, crc known: UInt32? = nil, to sink: inout FileSink) throws {
        let nameBytes = Array(name.utf8)
        let offset = sink.offset
        let size = data.count
        let zip64 = size >= 0xFFFF_FFFF
        var extra = [UInt8]()
        if zip64 { extra += le16(1) + le16(16) + le64(UInt64(size)) + le64(UInt64(size)) }
        let end = offset + 30 + nameBytes.count + extra.count
        if end % Self.alignment != 0 {
            let pad = (Self.alignment - (end + 4) % Self.alignment) % Self.alignment
            extra += le16(0x4246) + le16(UInt16(pad)) + [UInt8](repeating: 0x5A, count: pad) // "FB", "ZZZ…"
        }
        let crc = known ?? CRC32.checksum(data)
        var header = le32(0x0403_4B50) + le16(zip64 ? 45 : 20) + le16(0x0800) + le16(0) + le16(0) + le16(0)
        header += le32(crc) + le32(zip64 ? 0xFFFF_FFFF : UInt32(size)) + le32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        header += le16(UInt16(nameBytes.count)) + le16(UInt16(extra.count)) + nameBytes + extra
        try sink.write(header)
        try sink.write(data)
        written.append(Written(name: nameBytes, crc: crc, size: size, offset: offset))
    }

    /// Writes the central directory and end records.
    func finish(_ sink: inout FileSink) throws {
        let cdStart = sink.offset
        for w in written {
            let big = w.size >= 0xFFFF_FFFF || w.offset >= 0xFFFF_FFFF
            let extra = big ? le16(1) + le16(24) + le64(UInt64(w.size)) + le64(UInt64(w.size)) + le64(UInt64(w.offset)) : []
            var r = le32(0x0201_4B50) + le16(big ? 45 : 20) + le16(big ? 45 : 20) + le16(0x0800) + le16(0)
            r += le16(0) + le16(0) + le32(w.crc)
            r += le32(big ? 0xFFFF_FFFF : UInt32(w.size)) + le32(big ? 0xFFFF_FFFF : UInt32(w.size))
            r += le16(UInt16(w.name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
            r += le32(big ? 0xFFFF_FFFF : UInt32(w.offset)) + w.name + extra
            try sink.write(r)
        }
        let cdSize = sink.offset - cdStart
        let count = written.count
        let needs64 = count >= 0xFFFF || cdStart >= 0xFFFF_FFFF || cdSize >= 0xFFFF_FFFF
        if needs64 {
            let z64 = sink.offset
            var r = le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            r += le64(UInt64(count)) + le64(UInt64(count)) + le64(UInt64(cdSize)) + le64(UInt64(cdStart))
            r += le32(0x0706_4B50) + le32(0) + le64(UInt64(z64)) + le32(1)
            try sink.write(r)
        }
        var eocd = le32(0x0605_4B50) + le16(0) + le16(0)
        eocd += le16(needs64 ? 0xFFFF : UInt16(count)) + le16(needs64 ? 0xFFFF : UInt16(count))
        eocd += le32(needs64 ? 0xFFFF_FFFF : UInt32(cdSize)) + le32(needs64 ? 0xFFFF_FFFF : UInt32(cdStart)) + le16(0)
        try sink.write(eocd)
    }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
