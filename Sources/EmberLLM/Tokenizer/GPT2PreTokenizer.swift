/// GPT-2's pre-tokenizer: splits UTF-8 text into the pieces that BPE then encodes one by one.
///
/// A hand-written scanner equivalent to the regular expression (OpenAI `encoder.py`; tiktoken's
/// `r50k_base`/`gpt2` `pat_str` is the same language written with possessive quantifiers):
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// applied leftmost-first over Unicode scalars. `\p{L}` = general categories Lu Ll Lt Lm Lo,
/// `\p{N}` = Nd Nl No, `\s` = the Unicode `White_Space` property (as in Rust's `regex`, which
/// tiktoken uses). The contractions are case-sensitive (`'S` is not one). Whitespace rule: a run of
/// whitespace that ends the text is one piece; a run followed by a non-space gives up its last
/// scalar (so `"  word"` → `" "`, `" word"`), except a run of one, which stands alone.
struct GPT2PreTokenizer {
    enum CharClass: UInt8 { case other = 0, letter = 1, number = 2, space = 3 }

    /// Class of every BMP scalar, computed once (the stdlib's property lookup is slow per scalar).
    static let bmpClasses: [UInt8] = {
        var table = [UInt8](repeating: CharClass.other.rawValue, count: 0x10000)
        for v in 0..<0x10000 {
            if let s = Unicode.Scalar(UInt32(v)) { table[v] = classify(s).rawValue }
        }
        return table
    }()

    static func classify(_ s: Unicode.Scalar) -> CharClass {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    private let text: UnsafeBufferPointer<UInt8>
    private let classes: UnsafeBufferPointer<UInt8>
    private var position = 0

    /// - Parameters:
    ///   - text: valid UTF-8 (e.g. from `String.withUTF8`); must outlive the scanner.
    ///   - classes: `bmpClasses`, borrowed for the scan.
    init(text: UnsafeBufferPointer<UInt8>, classes: UnsafeBufferPointer<UInt8>) {
        self.text = text
        self.classes = classes
    }

    /// Decodes the scalar starting at byte `i` (input is valid UTF-8) and returns its class and length.
    @inline(__always)
    private func scalar(at i: Int) -> (value: UInt32, cls: UInt8, length: Int) {
        let b0 = text[i]
        if b0 < 0x80 { return (UInt32(b0), classes[Int(b0)], 1) }
        let v: UInt32
        let length: Int
        if b0 < 0xE0 {
            v = (UInt32(b0 & 0x1F) << 6) | UInt32(text[i + 1] & 0x3F)
            length = 2
        } else if b0 < 0xF0 {
            v = (UInt32(b0 & 0x0F) << 12) | (UInt32(text[i + 1] & 0x3F) << 6) | UInt32(text[i + 2] & 0x3F)
            length = 3
        } else {
            v = (UInt32(b0 & 0x07) << 18) | (UInt32(text[i + 1] & 0x3F) << 12)
                | (UInt32(text[i + 2] & 0x3F) << 6) | UInt32(text[i + 3] & 0x3F)
            length = 4
        }
        if v < 0x10000 { return (v, classes[Int(v)], length) }
        return (v, Self.classify(Unicode.Scalar(v)!).rawValue, length)
    }

    /// Byte range of the next piece, or nil at the end of the text.
    @inline(__always)
    mutating func next() -> Range<Int>? {
        let n = text.count
        let i = position
        guard i < n else { return nil }
        let first = scalar(at: i)
        // 's 't 're 've 'm 'll 'd (lowercase only, as in the pattern).
        if first.value == 0x27, i + 1 < n {
            let b1 = text[i + 1]
            if b1 == UInt8(ascii: "s") || b1 == UInt8(ascii: "t") || b1 == UInt8(ascii: "m") || b1 == UInt8(ascii: "d") {
                position = i + 2
                return i..<(i + 2)
            }
            if i + 2 < n {
                let b2 = text[i + 2]
                if (b1 == UInt8(ascii: "r") && b2 == UInt8(ascii: "e")) || (b1 == UInt8(ascii: "v") && b2 == UInt8(ascii: "e"))
                    || (b1 == UInt8(ascii: "l") && b2 == UInt8(ascii: "l")) {
                    position = i + 3
                    return i..<(i + 3)
                }
            }
        }
        let space = CharClass.space.rawValue
        var cls = first.cls
        var j = i + first.length
        // ` ?X+`: a single U+0020 may lead a run of letters, numbers or other symbols.
        if first.value == 0x20, j < n {
            let second = scalar(at: j)
            if second.cls != space {
                cls = second.cls
                j += second.length
            }
        }
        if cls != space {
            while j < n {
                let s = scalar(at: j)
                if s.cls != cls { break }
                j += s.length
            }
            position = j
            return i..<j
        }
        // `\s+(?!\S)|\s+`
        var lastStart = i
        while j < n {
            let s = scalar(at: j)
            if s.cls != space { break }
            lastStart = j
            j += s.length
        }
        let end = (j == n || lastStart == i) ? j : lastStart
        position = end
        return i..<end
    }
}
