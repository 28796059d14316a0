/// Decodes GPT-2 token ids one at a time into text without splitting characters.
///
/// One byte-level token may hold only part of a UTF-8 character (`"😀"` = 47249 `F0 9F 98` + 222
/// `80`), so decoding each token alone prints U+FFFD (bug case B27, docs/cases.md). This decoder holds back a
/// trailing incomplete-but-valid UTF-8 prefix until the next token completes it; everything else is
/// decoded as ``GPT2Tokenizer/decode(_:)`` would, so the concatenated output equals decoding the whole
/// list at once.
public struct TokenStreamDecoder: Sendable {
    /// The tokenizer whose ids are decoded.
    public let tokenizer: GPT2Tokenizer
    private var pending: [UInt8] = []

    /// - Parameter tokenizer: the tokenizer whose ids will be pushed.
    public init(tokenizer: GPT2Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds one token and returns the text it completes (`""` while a character is still open).
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` if `id` is not a token (state unchanged).
    public mutating func push(_ id: Int) throws -> String {
        let bytes = try tokenizer.tokenBytes(id)
        pending.append(contentsOf: bytes)
        let keep = Self.incompleteSuffixLength(pending)
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Returns the bytes still held (an unfinished character decodes to U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the trailing bytes that start a well-formed UTF-8 sequence but do not finish it
    /// (Unicode Table 3-7 ranges: E0 needs A0…BF next, ED 80…9F, F0 90…BF, F4 80…8F).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var k = 1
        while k <= min(3, n) {
            let b = bytes[n - k]
            if b & 0xC0 == 0x80 {
                k += 1
                continue
            }
            let needed: Int
            switch b {
            case 0xC2...0xDF: needed = 2
            case 0xE0...0xEF: needed = 3
            case 0xF0...0xF4: needed = 4
            default: return 0
            }
            guard needed > k else { return 0 }
            if k >= 2 {
                let second = bytes[n - k + 1]
                let ok: Bool
                switch b {
                case 0xE0: ok = (0xA0...0xBF).contains(second)
                case 0xED: ok = (0x80...0x9F).contains(second)
                case 0xF0: ok = (0x90...0xBF).contains(second)
                case 0xF4: ok = (0x80...0x8F).contains(second)
                default: ok = true
                }
                if !ok { return 0 }
            }
            return k
        }
        return 0
    }
}
