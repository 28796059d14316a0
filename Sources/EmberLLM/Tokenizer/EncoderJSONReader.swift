/// Reads GPT-2's `encoder.json`: one flat JSON object of string keys and integer values.
///
/// Why not `JSONDecoder`: on Linux it takes ~135 ms for the 50,257 entries (a third of the whole
/// load); this reader takes a few. It accepts exactly that shape (RFC 8259 strings with all escapes,
/// including surrogate pairs; non-negative integer values) and throws on anything else.
enum EncoderJSONReader {
    struct SyntaxError: Error, CustomStringConvertible {
        let offset: Int
        let expected: String
        var description: String { "JSON syntax error at byte \(offset): expected \(expected)" }
    }

    static func read(_ bytes: [UInt8]) throws -> [(key: String, value: Int)] {
        try bytes.withUnsafeBufferPointer { p in
            var i = 0
            var out: [(key: String, value: Int)] = []
            func skipSpace() {
                while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
            }
            func expect(_ c: UInt8, _ what: String) throws {
                skipSpace()
                guard i < p.count, p[i] == c else { throw SyntaxError(offset: i, expected: what) }
                i += 1
            }
            func hex4() throws -> UInt32 {
                guard i + 4 <= p.count else { throw SyntaxError(offset: i, expected: "4 hex digits") }
                var v: UInt32 = 0
                for _ in 0..<4 {
                    let c = p[i]
                    let d: UInt32
                    switch c {
                    case 0x30...0x39: d = UInt32(c - 0x30)
                    case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                    case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                    default: throw SyntaxError(offset: i, expected: "hex digit")
                    }
                    v = v << 4 | d
                    i += 1
                }
                return v
            }
            func string() throws -> String {
                try expect(0x22, "'\"'")
                var scalars = String.UnicodeScalarView()
                let start = i
                // Fast path: no escapes.
                while i < p.count, p[i] != 0x22, p[i] != 0x5C { i += 1 }
                guard i < p.count else { throw SyntaxError(offset: i, expected: "end of string") }
                if p[i] == 0x22 {
                    i += 1
                    return String(decoding: UnsafeBufferPointer(rebasing: p[start..<(i - 1)]), as: UTF8.self)
                }
                scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self).unicodeScalars)
                var runStart = i
                while true {
                    guard i < p.count else { throw SyntaxError(offset: i, expected: "end of string") }
                    let c = p[i]
                    if c != 0x22 && c != 0x5C { i += 1; continue }
                    scalars.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: p[runStart..<i]), as: UTF8.self).unicodeScalars)
                    i += 1
                    if c == 0x22 { return String(scalars) }
                    guard i < p.count else { throw SyntaxError(offset: i, expected: "escape") }
                    let e = p[i]
                    i += 1
                    switch e {
                    case 0x22, 0x5C, 0x2F: scalars.append(Unicode.Scalar(e))
                    case 0x62: scalars.append("\u{08}")
                    case 0x66: scalars.append("\u{0C}")
                    case 0x6E: scalars.append("\n")
                    case 0x72: scalars.append("\r")
                    case 0x74: scalars.append("\t")
                    case 0x75:
                        var v = try hex4()
                        if (0xD800..<0xDC00).contains(v), i + 1 < p.count, p[i] == 0x5C, p[i + 1] == 0x75 {
                            i += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw SyntaxError(offset: i, expected: "low surrogate") }
                            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let s = Unicode.Scalar(v) else { throw SyntaxError(offset: i, expected: "a Unicode scalar") }
                        scalars.append(s)
                    default: throw SyntaxError(offset: i - 1, expected: "a valid escape")
                    }
                    runStart = i
                }
            }
            func integer() throws -> Int {
                skipSpace()
                let start = i
                var v = 0
                while i < p.count, (0x30...0x39).contains(p[i]), v < Int(Int32.max) {
                    v = v * 10 + Int(p[i] - 0x30)
                    i += 1
                }
                guard i > start else { throw SyntaxError(offset: i, expected: "a non-negative integer") }
                return v
            }
            try expect(0x7B, "'{'")
            skipSpace()
            if i < p.count, p[i] == 0x7D { return out }
            while true {
                let key = try string()
                try expect(0x3A, "':'")
                out.append((key, try integer()))
                skipSpace()
                guard i < p.count else { throw SyntaxError(offset: i, expected: "',' or '}'") }
                if p[i] == 0x2C { i += 1; continue }
                if p[i] == 0x7D { i += 1; break }
                throw SyntaxError(offset: i, expected: "',' or '}'")
            }
            skipSpace()
            guard i == p.count else { throw SyntaxError(offset: i, expected: "end of file") }
            return out
        }
    }
}
