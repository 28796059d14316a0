import Foundation

/// Bounds-checked little-endian reads from a byte buffer; every read past the end throws
/// ``EmberIOError/Kind/truncated`` instead of trapping.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var position: Int

    init(_ buffer: UnsafeRawBufferPointer, position: Int = 0) {
        self.buffer = buffer
        self.position = position
    }

    var remaining: Int { buffer.count - position }

    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= remaining else {
            throw EmberIOError(.truncated, "data ends at byte \(buffer.count) but \(n) more bytes were expected at \(position)")
        }
        defer { position += n }
        return position
    }

    mutating func u8() throws -> UInt8 { buffer[try take(1)] }
    mutating func u16() throws -> UInt16 { UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }
    mutating func u64BigEndian() throws -> UInt64 { UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }

    /// An 8-byte length, refused if it cannot fit in the remaining data.
    mutating func length64() throws -> Int {
        let n = try u64()
        guard n <= UInt64(remaining) else {
            throw EmberIOError(.truncated, "length \(n) runs past the end of the data")
        }
        return Int(n)
    }

    mutating func bytes(_ n: Int) throws -> Data {
        let start = try take(n)
        return Data(buffer[start..<(start + n)])
    }

    mutating func utf8(_ n: Int) throws -> String {
        let start = try take(n)
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: buffer[start..<(start + n)]), as: UTF8.self) else {
            throw EmberIOError(.malformedPickle, "string at byte \(start) is not valid UTF-8")
        }
        return s
    }

    mutating func latin1(_ n: Int) throws -> String {
        let start = try take(n)
        return String(buffer[start..<(start + n)].map { Character(Unicode.Scalar($0)) })
    }

    /// A newline-terminated ASCII line of at most `max` bytes (GLOBAL / INST operands).
    mutating func line(max: Int) throws -> String {
        var end = position
        while end < buffer.count, buffer[end] != 0x0A {
            end += 1
            guard end - position <= max else { throw EmberIOError(.malformedPickle, "text operand longer than \(max) bytes") }
        }
        guard end < buffer.count else { throw EmberIOError(.truncated, "text operand not terminated") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[position..<end]), as: UTF8.self)
        position = end + 1
        return s
    }
}
