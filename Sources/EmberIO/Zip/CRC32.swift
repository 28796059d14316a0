import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CRC-32 (IEEE 802.3, the zip checksum). Uses zlib's `crc32_z` when the system zlib can be loaded
/// at run time (no link-time dependency; about 4 GB/s here, 3-4× the table code below), else
/// slicing-by-8 tables: about 8× the speed of a byte-at-a-time loop. `EMBER_NO_ZLIB` forces the
/// tables (tests compare both).
enum CRC32 {
    typealias ZlibCRC = @convention(c) (UInt, UnsafePointer<UInt8>?, Int) -> UInt
    struct Zlib: @unchecked Sendable { let crc32: ZlibCRC }

    /// zlib's `crc32_z` (zlib ≥ 1.2.9), or nil.
    static let zlib: Zlib? = {
        if ProcessInfo.processInfo.environment["EMBER_NO_ZLIB"] != nil { return nil }
        #if os(macOS)
        let candidates = ["/usr/lib/libz.1.dylib", "libz.1.dylib"]
        #else
        let candidates = ["libz.so.1", "libz.so"]
        #endif
        for path in candidates {
            guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL), let f = dlsym(h, "crc32_z") else { continue }
            let fn = unsafeBitCast(f, to: ZlibCRC.self)
            // Refuse a library that does not give the standard check value of "123456789".
            let check: [UInt8] = Array("123456789".utf8)
            guard check.withUnsafeBufferPointer({ fn(0, $0.baseAddress, $0.count) }) == 0xCBF4_3926 else { continue }
            return Zlib(crc32: fn)
        }
        return nil
    }()

    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xFF)] }
        }
        return t
    }()

    /// The CRC-32 of `data`, continuing from `crc` (0 to start).
    static func checksum(_ data: Data, crc: UInt32 = 0) -> UInt32 {
        data.withUnsafeBytes { checksum(UnsafeRawBufferPointer($0), crc: crc) }
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer, crc start: UInt32 = 0) -> UInt32 {
        guard let zlib, let base = bytes.baseAddress, bytes.count > 0 else { return tableChecksum(bytes, crc: start) }
        return UInt32(truncatingIfNeeded: zlib.crc32(UInt(start), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The slicing-by-8 table code (the fallback without zlib).
    static func tableChecksum(_ bytes: UnsafeRawBufferPointer, crc start: UInt32 = 0) -> UInt32 {
        var c = ~start
        guard let base = bytes.baseAddress, bytes.count > 0 else { return start }
        let t = tables
        return t[0].withUnsafeBufferPointer { t0 in t[1].withUnsafeBufferPointer { t1 in
            t[2].withUnsafeBufferPointer { t2 in t[3].withUnsafeBufferPointer { t3 in
            t[4].withUnsafeBufferPointer { t4 in t[5].withUnsafeBufferPointer { t5 in
            t[6].withUnsafeBufferPointer { t6 in t[7].withUnsafeBufferPointer { t7 in
                var p = base
                var n = bytes.count
                while n >= 8 {
                    let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
                    let hi = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
                    c = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                      ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                    p += 8
                    n -= 8
                }
                while n > 0 {
                    c = t0[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                    p += 1
                    n -= 1
                }
                return ~c
            } } } } } } } }
    }
}
