/// GPT-2's reversible byte ↔ printable-character map (`bytes_to_unicode` in OpenAI's `encoder.py`).
///
/// `encoder.json` and `vocab.bpe` spell every token as a string of these characters: printable
/// Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves, and the other 68 bytes
/// (controls, space, DEL, NBSP, soft hyphen) are shifted to U+0100…U+0143 in byte order.
/// Source: openai/gpt-2 `src/encoder.py`; tiktoken `load.py` (`data_gym_to_mergeable_bpe_ranks`).
enum ByteLevelAlphabet {
    /// `byteToScalar[b]` = code point standing for byte `b` (256 entries).
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = shifted
                shifted += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar`: code point (< 324) → byte, or -1 where the code point is unused.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// Bytes of a token spelled in the byte-level alphabet, or nil if a character is outside it.
    static func bytes(of token: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            let v = Int(scalar.value)
            guard v < scalarToByte.count, scalarToByte[v] >= 0 else { return nil }
            out.append(UInt8(scalarToByte[v]))
        }
        return out
    }
}
