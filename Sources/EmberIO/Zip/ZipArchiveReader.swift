import Foundation
import ZIPFoundation

/// One member of a zip archive, from its central-directory record.
struct ZipEntry {
    let name: String
    let method: UInt16            // 0 stored, 8 deflated
    let crc32: UInt32
    let compressedSize: Int
    let uncompressedSize: Int
    let localHeaderOffset: Int
}

/// A minimal, bounds-checked zip reader over a memory-mapped file (ZIP64 aware).
///
/// Sizes come from the central directory, so a record's size can be checked *before* it is inflated
/// (the zip-bomb defence), and a STORED record's bytes can be handed out without copying (`mmap` loading).
/// Source: PKWARE APPNOTE.TXT 6.3 (§4.3.7 local header, §4.3.12 central directory, §4.3.14–16 ZIP64, EOCD).
struct ZipArchiveReader {
    let file: MappedFile
    /// Charged for every inflated or copied entry before its buffer is allocated.
    var budget = LoadBudget(limit: Int.max)
    private(set) var entries: [String: ZipEntry] = [:]
    private(set) var order: [String] = []

    init(file: MappedFile) throws {
        self.file = file
        let buf = file.buffer
        // End of central directory: 22 bytes + comment (≤ 65535), searched backwards.
        guard buf.count >= 22 else { throw EmberIOError(.truncated, "too short for a zip archive") }
        var eocd = -1
        var i = buf.count - 22
        let lowest = max(0, buf.count - 22 - 65_535)
        while i >= lowest {
            if buf.loadUnaligned(fromByteOffset: i, as: UInt32.self) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else {
            throw EmberIOError(.truncated, "not a complete zip archive: end of central directory not found (truncated file?)")
        }
        var r = ByteReader(buf, position: eocd + 10)
        var count = Int(try r.u16())
        _ = try r.u32() // central directory size
        var cdOffset = Int(try r.u32())
        if count == 0xFFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator sits just before the EOCD.
            guard eocd >= 20 else { throw EmberIOError(.malformedZip, "ZIP64 locator missing") }
            var loc = ByteReader(buf, position: eocd - 20)
            guard try loc.u32() == 0x0706_4B50 else { throw EmberIOError(.malformedZip, "ZIP64 locator missing") }
            _ = try loc.u32()
            let z64 = try loc.u64()
            guard z64 <= UInt64(buf.count) else { throw EmberIOError(.malformedZip, "ZIP64 end record out of range") }
            var z = ByteReader(buf, position: Int(z64))
            guard try z.u32() == 0x0606_4B50 else { throw EmberIOError(.malformedZip, "ZIP64 end record missing") }
            z.position += 28
            let c = try z.u64()
            _ = try z.u64()
            let off = try z.u64()
            guard c <= UInt64(buf.count / 46), off <= UInt64(buf.count) else {
                throw EmberIOError(.malformedZip, "ZIP64 end record out of range")
            }
            count = Int(c)
            cdOffset = Int(off)
        }
        var cd = ByteReader(buf, position: cdOffset)
        for _ in 0..<count {
            guard try cd.u32() == 0x0201_4B50 else { throw EmberIOError(.malformedZip, "bad central directory record") }
            cd.position += 4
            let flags = try cd.u16()
            let method = try cd.u16()
            cd.position += 4
            let crc = try cd.u32()
            var csize = UInt64(try cd.u32())
            var usize = UInt64(try cd.u32())
            let nameLen = Int(try cd.u16()), extraLen = Int(try cd.u16()), commentLen = Int(try cd.u16())
            cd.position += 8
            var offset = UInt64(try cd.u32())
            let nameData = try cd.bytes(nameLen)
            var extra = ByteReader(UnsafeRawBufferPointer(rebasing: buf[cd.position..<min(buf.count, cd.position + extraLen)]))
            cd.position += extraLen + commentLen
            guard cd.position <= buf.count else { throw EmberIOError(.truncated, "central directory runs past the end") }
            while extra.remaining >= 4 {
                let id = try extra.u16(), size = Int(try extra.u16())
                let end = extra.position + size
                if id == 0x0001 { // ZIP64 extended information: only the fields that overflowed, in order
                    if usize == 0xFFFF_FFFF { usize = try extra.u64() }
                    if csize == 0xFFFF_FFFF { csize = try extra.u64() }
                    if offset == 0xFFFF_FFFF { offset = try extra.u64() }
                }
                extra.position = end
            }
            guard flags & 1 == 0 else { throw EmberIOError(.malformedZip, "encrypted zip entries are not supported") }
            let name = String(decoding: nameData, as: UTF8.self)
            guard csize <= UInt64(buf.count), offset <= UInt64(buf.count), usize <= UInt64(Int.max) else {
                throw EmberIOError(.malformedZip, "entry \(name): sizes or offset beyond the file")
            }
            guard entries[name] == nil else { throw EmberIOError(.malformedZip, "duplicate zip entry \(name)") }
            entries[name] = ZipEntry(name: name, method: method, crc32: crc, compressedSize: Int(csize),
                                     uncompressedSize: Int(usize), localHeaderOffset: Int(offset))
            order.append(name)
        }
    }

    /// Byte range of an entry's (possibly compressed) data inside the file, from its local header.
    func dataRange(_ e: ZipEntry) throws -> Range<Int> {
        var r = ByteReader(file.buffer, position: e.localHeaderOffset)
        guard try r.u32() == 0x0403_4B50 else { throw EmberIOError(.malformedZip, "entry \(e.name): bad local header") }
        r.position += 22
        let n = Int(try r.u16()), x = Int(try r.u16())
        let start = e.localHeaderOffset + 30 + n + x
        guard start <= file.count, e.compressedSize <= file.count - start else {
            throw EmberIOError(.truncated, "entry \(e.name): data runs past the end of the file")
        }
        return start..<(start + e.compressedSize)
    }

    /// Copies the uncompressed bytes of `e` into `destination` (exactly `e.uncompressedSize` bytes): a STORED
    /// entry is copied from the mapping in chunks, each checksummed right after its copy while it is still in
    /// cache, so the bytes come from memory once; DEFLATED entries are inflated by ``read(_:mapped:verifyCRC:)``.
    /// - Throws: as ``read(_:mapped:verifyCRC:)``; `destination` then holds unspecified bytes.
    func read(_ e: ZipEntry, into destination: UnsafeMutableRawBufferPointer, verifyCRC: Bool = true) throws {
        guard destination.count == e.uncompressedSize else {
            throw EmberIOError(.malformedZip, "entry \(e.name): \(e.uncompressedSize) bytes, expected \(destination.count)")
        }
        guard e.method == 0 else {
            let data = try read(e, verifyCRC: verifyCRC) // charges the budget before inflating
            data.withUnsafeBytes { if $0.count > 0 { destination.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            return
        }
        let range = try dataRange(e)
        guard e.compressedSize == e.uncompressedSize else {
            throw EmberIOError(.malformedZip, "stored entry \(e.name): sizes differ")
        }
        var crc: UInt32 = 0
        if let src = file.base, let dst = destination.baseAddress {
            let chunk = 1 << 18
            var done = 0
            while done < range.count {
                let n = min(chunk, range.count - done)
                (dst + done).copyMemory(from: src + range.lowerBound + done, byteCount: n)
                if verifyCRC { crc = CRC32.checksum(UnsafeRawBufferPointer(start: dst + done, count: n), crc: crc) }
                done += n
            }
        }
        if verifyCRC && crc != e.crc32 {
            throw EmberIOError(.malformedZip, "entry \(e.name): CRC-32 mismatch (corrupted file)")
        }
    }

    /// The uncompressed bytes of `e`. STORED entries are returned without copying when `mapped` is true.
    /// Inflation stops with an error as soon as the output would exceed the declared size.
    func read(_ e: ZipEntry, mapped: Bool = false, verifyCRC: Bool = true) throws -> Data {
        let range = try dataRange(e)
        switch e.method {
        case 0:
            guard e.compressedSize == e.uncompressedSize else {
                throw EmberIOError(.malformedZip, "stored entry \(e.name): sizes differ")
            }
            if !mapped { try budget.charge(range.count, for: "entry \(e.name)") }
            let data = mapped ? file.data(in: range) : Data(file.buffer[range])
            if verifyCRC && CRC32.checksum(data) != e.crc32 {
                throw EmberIOError(.malformedZip, "entry \(e.name): CRC-32 mismatch (corrupted file)")
            }
            return data
        case 8:
            try budget.charge(e.uncompressedSize, for: "deflated entry \(e.name)")
            var out = Data()
            out.reserveCapacity(e.uncompressedSize)
            let limit = e.uncompressedSize
            let src = file.buffer
            let crc = try Data.decompress(size: Int64(range.count), bufferSize: 64 * 1024, skipCRC32: !verifyCRC,
                provider: { position, size in
                    let start = range.lowerBound + Int(position)
                    // An exhausted input would make the inflater loop forever: stop it here.
                    guard start < range.upperBound else {
                        throw EmberIOError(.truncated, "deflated entry \(e.name) ends before its stream does")
                    }
                    return Data(src[start..<min(range.upperBound, start + size)])
                },
                consumer: { chunk in
                    guard out.count + chunk.count <= limit else {
                        throw EmberIOError(.limitExceeded, "deflated entry \(e.name) inflates past its declared \(limit) bytes")
                    }
                    out.append(chunk)
                })
            guard out.count == limit else {
                throw EmberIOError(.malformedZip, "deflated entry \(e.name): \(out.count) bytes, declared \(limit)")
            }
            if verifyCRC && crc != e.crc32 { throw EmberIOError(.malformedZip, "entry \(e.name): CRC-32 mismatch") }
            return out
        default:
            throw EmberIOError(.malformedZip, "entry \(e.name): unsupported compression method \(e.method)")
        }
    }
}
