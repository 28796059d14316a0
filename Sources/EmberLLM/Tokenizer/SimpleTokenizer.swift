/// The book's chapter-2 word splitter: Python's
/// `[t.strip() for t in re.split(r'([,.:;?_!"()\']|--|\s)', text) if t.strip()]`.
///
/// Source: book ch. 2 §2.2–2.4 (`ch02.ipynb`, rasbt/LLMs-from-scratch). Whitespace is Python's
/// `str.isspace` (Unicode `White_Space` plus U+001C…U+001F). Strings are Swift `String`s, so two
/// canonically equivalent spellings (é vs e + U+0301) are one vocabulary entry, unlike Python.
public enum SimpleTokenizerSplitter {
    static let separators: Set<UInt32> = Set(",.:;?_!\"()'".unicodeScalars.map(\.value))

    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Splits text into the book's word and punctuation tokens (`--` is one token; whitespace dropped).
    public static func split(_ text: String) -> [String] {
        var tokens: [String] = []
        var word = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        func flush() {
            if !word.isEmpty {
                tokens.append(String(word))
                word = String.UnicodeScalarView()
            }
        }
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            if separators.contains(s.value) {
                flush()
                tokens.append(String(s))
                i += 1
            } else if s == "-", i + 1 < scalars.count, scalars[i + 1] == "-" {
                flush()
                tokens.append("--")
                i += 2
            } else if isPythonSpace(s) {
                flush()
                i += 1
            } else {
                word.append(s)
                i += 1
            }
        }
        flush()
        return tokens
    }

    /// The book's vocabulary: unique tokens of ``split(_:)`` sorted by code points (Python's
    /// `sorted(set(...))`), numbered from 0, then `specialTokens` appended in order.
    /// - Returns: token → id.
    public static func buildVocabulary(from text: String, specialTokens: [String] = []) -> [String: Int] {
        let unique = Set(split(text))
        let sorted = unique.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) { $0.value < $1.value } }
        var vocabulary: [String: Int] = [:]
        for token in sorted + specialTokens where vocabulary[token] == nil {
            vocabulary[token] = vocabulary.count
        }
        return vocabulary
    }

    /// `re.sub(r'\s+([<punctuation>])', r'\1', " ".join(tokens))`: joins with spaces, then drops each
    /// whitespace run that is directly followed by one of `punctuation`.
    static func join(_ tokens: [String], noSpaceBefore punctuation: Set<UInt32>) -> String {
        let scalars = Array(tokens.joined(separator: " ").unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if isPythonSpace(scalars[i]) {
                var j = i
                while j < scalars.count, isPythonSpace(scalars[j]) { j += 1 }
                if j < scalars.count, punctuation.contains(scalars[j].value) {
                    i = j
                    continue
                }
                out.append(contentsOf: scalars[i..<j])
                i = j
            } else {
                out.append(scalars[i])
                i += 1
            }
        }
        return String(out)
    }
}

/// The book's first tokenizer (ch. 2 §2.3, `SimpleTokenizerV1`): words of a fixed vocabulary → ids.
public struct SimpleTokenizerV1: Sendable {
    /// Token → id (e.g. from ``buildVocabulary(from:)``).
    public let vocabulary: [String: Int]
    private let inverse: [Int: String]

    /// - Parameter vocabulary: token → id; for duplicate ids the last token wins, as in the book's dict.
    public init(vocabulary: [String: Int]) {
        self.vocabulary = vocabulary
        self.inverse = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The book's V1 vocabulary of a text: its sorted unique tokens (the-verdict.txt: 1,130).
    public static func buildVocabulary(from text: String) -> [String: Int] {
        SimpleTokenizerSplitter.buildVocabulary(from: text)
    }

    /// Splits with ``SimpleTokenizerSplitter/split(_:)`` and maps each token to its id.
    /// - Throws: ``TokenizerError/unknownToken(_:)`` naming the first word not in the vocabulary
    ///   (Python: `KeyError: 'Hello'`).
    public func encode(_ text: String) throws -> [Int] {
        try SimpleTokenizerSplitter.split(text).map { token in
            guard let id = vocabulary[token] else { throw TokenizerError.unknownToken(token) }
            return id
        }
    }

    /// Joins the tokens with spaces and removes the spaces before `, . ? ! " ( ) '`.
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id not in the vocabulary.
    public func decode(_ ids: [Int]) throws -> String {
        let tokens = try ids.map { id in
            guard let token = inverse[id] else { throw TokenizerError.unknownTokenID(id) }
            return token
        }
        return SimpleTokenizerSplitter.join(tokens, noSpaceBefore: Set(",.?!\"()'".unicodeScalars.map(\.value)))
    }
}

/// The book's second tokenizer (ch. 2 §2.4, `SimpleTokenizerV2`): unknown words become `<|unk|>`
/// and `<|endoftext|>` separates texts.
public struct SimpleTokenizerV2: Sendable {
    /// The unknown-word token.
    public static let unknownToken = "<|unk|>"
    /// The end-of-text token.
    public static let endOfTextToken = "<|endoftext|>"

    /// Token → id; must contain `<|unk|>` for text with unknown words.
    public let vocabulary: [String: Int]
    private let inverse: [Int: String]

    /// - Parameter vocabulary: token → id (e.g. from ``buildVocabulary(from:)``).
    public init(vocabulary: [String: Int]) {
        self.vocabulary = vocabulary
        self.inverse = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The book's V2 vocabulary: sorted unique tokens, then `<|endoftext|>` and `<|unk|>`
    /// (the-verdict.txt: 1,132 with ids 1130 and 1131).
    public static func buildVocabulary(from text: String) -> [String: Int] {
        SimpleTokenizerSplitter.buildVocabulary(from: text, specialTokens: [endOfTextToken, unknownToken])
    }

    /// Splits like V1 (so `<|endoftext|>` stays one word) and maps unknown words to `<|unk|>`.
    /// - Throws: ``TokenizerError/unknownToken(_:)`` (`"<|unk|>"`) only if the vocabulary lacks `<|unk|>`.
    public func encode(_ text: String) throws -> [Int] {
        let unknown = vocabulary[Self.unknownToken]
        return try SimpleTokenizerSplitter.split(text).map { token in
            if let id = vocabulary[token] { return id }
            guard let unknown else { throw TokenizerError.unknownToken(Self.unknownToken) }
            return unknown
        }
    }

    /// Joins the tokens with spaces and removes the spaces before `, . : ; ? ! " ( ) '`.
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id not in the vocabulary.
    public func decode(_ ids: [Int]) throws -> String {
        let tokens = try ids.map { id in
            guard let token = inverse[id] else { throw TokenizerError.unknownTokenID(id) }
            return token
        }
        return SimpleTokenizerSplitter.join(tokens, noSpaceBefore: Set(",.:;?!\"()'".unicodeScalars.map(\.value)))
    }
}
