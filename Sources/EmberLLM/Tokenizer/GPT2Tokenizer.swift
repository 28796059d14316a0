import Foundation

/// GPT-2's byte-level byte-pair-encoding tokenizer, giving the same ids as tiktoken's `gpt2`
/// encoding (`tiktoken.get_encoding("gpt2")`) for any text.
///
/// Encoding: the text is split at special tokens that are allowed, each stretch is split into
/// pieces by ``GPT2PreTokenizer``'s pattern, and each piece's UTF-8 bytes become one token if they
/// are one, else they are merged pairwise, always merging first the adjacent pair whose
/// concatenation has the lowest rank (= id), leftmost on ties — tiktoken's `byte_pair_merge`.
/// Plain Swift: `String` in, `[Int]` out; no tensors.
///
/// Thread safety: immutable after loading; the word → ids cache lives inside each `encode` call.
/// Source: book ch. 2 §2.5 (uses `tiktoken.get_encoding("gpt2")`); openai/tiktoken `src/lib.rs`,
/// `tiktoken/core.py`; OpenAI GPT-2 `encoder.py`.
public final class GPT2Tokenizer: Sendable {
    /// Number of token ids, `max id + 1` (50,257 for GPT-2; tiktoken's `n_vocab`).
    public let nVocab: Int
    /// Special token strings and their ids (GPT-2: `["<|endoftext|>": 50256]`).
    public let specialTokens: [String: Int]

    /// Ordinary token bytes → id (special tokens excluded, as tiktoken's `mergeable_ranks`).
    private let ordinary: ByteStringTable
    let pairs: PairMergeTable
    /// Id of the one-byte token for each byte value.
    let byteIDs: [Int32]
    /// Bytes of token `id` are `tokenArena[tokenStarts[id] ..< tokenStarts[id + 1]]`.
    private let tokenArena: [UInt8]
    private let tokenStarts: [Int32]
    private let tokenKnown: [Bool]

    /// The `<|endoftext|>` id (50256 for GPT-2), or nil if the encoding has no such token.
    public var endOfTextTokenID: Int? { specialTokens["<|endoftext|>"] }

    /// Builds a tokenizer from its token table.
    ///
    /// - Parameters:
    ///   - tokens: `(bytes, id)` of every ordinary token; all 256 single bytes must be present and
    ///     ids must be the merge ranks (lower id = merged earlier), as in GPT-2's `encoder.json`.
    ///   - specialTokens: special token strings and ids (not in `tokens`).
    /// - Throws: ``TokenizerError/malformedVocabulary(file:detail:)`` on duplicates or a missing byte.
    init(tokens: [(bytes: [UInt8], id: Int)], specialTokens: [String: Int]) throws {
        var table = ByteStringTable(minimumCapacity: tokens.count)
        var maxID = -1
        for (bytes, id) in tokens {
            guard id >= 0, id < Int(Int32.max) else {
                throw TokenizerError.malformedVocabulary(file: "encoder", detail: "token id \(id) out of range")
            }
            let inserted = bytes.withUnsafeBufferPointer { table.insert($0, value: Int32(id)) }
            guard inserted else {
                throw TokenizerError.malformedVocabulary(file: "encoder", detail: "duplicate token bytes \(bytes) (id \(id))")
            }
            maxID = max(maxID, id)
        }
        for (_, id) in specialTokens { maxID = max(maxID, id) }

        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            byteIDs[b] = [UInt8(b)].withUnsafeBufferPointer { table.find($0) }
            guard byteIDs[b] >= 0 else {
                throw TokenizerError.malformedVocabulary(file: "encoder", detail: "no token for the single byte \(b)")
            }
        }

        // Every split of every token into two tokens is a possible merge (tiktoken semantics).
        var pairs = PairMergeTable(minimumCapacity: tokens.count * 4)
        for (bytes, id) in tokens where bytes.count >= 2 {
            bytes.withUnsafeBufferPointer { whole in
                for k in 1..<whole.count {
                    let left = table.find(UnsafeBufferPointer(rebasing: whole[..<k]))
                    if left < 0 { continue }
                    let right = table.find(UnsafeBufferPointer(rebasing: whole[k...]))
                    if right < 0 { continue }
                    pairs.insert(left, right, merged: Int32(id))
                }
            }
        }

        // id → bytes, specials included.
        var lengths = [Int](repeating: 0, count: maxID + 1)
        var sources = [[UInt8]?](repeating: nil, count: maxID + 1)
        for (bytes, id) in tokens { sources[id] = bytes; lengths[id] = bytes.count }
        for (text, id) in specialTokens {
            guard id >= 0, sources[id] == nil else {
                throw TokenizerError.malformedVocabulary(file: "special tokens", detail: "id \(id) of '\(text)' is taken or invalid")
            }
            sources[id] = Array(text.utf8)
        }
        var arena: [UInt8] = []
        var starts: [Int32] = [0]
        starts.reserveCapacity(maxID + 2)
        for source in sources {
            if let source { arena.append(contentsOf: source) }
            starts.append(Int32(arena.count))
        }

        self.nVocab = maxID + 1
        self.specialTokens = specialTokens
        self.ordinary = table
        self.pairs = pairs
        self.byteIDs = byteIDs
        self.tokenArena = arena
        self.tokenStarts = starts
        self.tokenKnown = sources.map { $0 != nil }
    }

    // MARK: Encoding

    /// Encodes text as tiktoken's `Encoding.encode(text, allowed_special=…, disallowed_special=…)`.
    ///
    /// - Parameters:
    ///   - text: any Unicode text.
    ///   - allowedSpecial: special tokens whose text becomes the special id (e.g.
    ///     `["<|endoftext|>"]` → 50256). Default none.
    ///   - disallowedSpecial: special tokens whose text is an error; `.all` (default) means every
    ///     special token not allowed. Pass `[]` to encode special-token text as ordinary text.
    /// - Returns: token ids in `0..<nVocab`, one per BPE token.
    /// - Throws: ``TokenizerError/disallowedSpecialToken(_:)`` naming the first disallowed special
    ///   token found in `text` (tiktoken raises `ValueError` with the same message).
    public func encode(
        _ text: String, allowedSpecial: SpecialTokenSet = .none, disallowedSpecial: SpecialTokenSet = .all
    ) throws -> [Int] {
        let specials = Set(specialTokens.keys)
        let allowed = allowedSpecial.resolve(in: specials).intersection(specials)
        let disallowed: Set<String>
        switch disallowedSpecial {
        case .all: disallowed = specials.subtracting(allowed)
        case .only(let tokens): disallowed = tokens
        }
        let allowedBytes = allowed.map { (Array($0.utf8), specialTokens[$0]!) }
        let disallowedBytes = disallowed.filter { !$0.isEmpty }.map { Array($0.utf8) }

        var text = text
        return try text.withUTF8 { utf8 -> [Int] in
            if !disallowedBytes.isEmpty,
               let hit = Self.firstOccurrence(of: disallowedBytes.map { ($0, 0) }, in: utf8, from: 0) {
                throw TokenizerError.disallowedSpecialToken(String(decoding: disallowedBytes[hit.which], as: UTF8.self))
            }
            var out: [Int] = []
            out.reserveCapacity(utf8.count / 4 + 1)
            var cache = PieceCache()
            var start = 0
            while true {
                let hit = allowedBytes.isEmpty ? nil : Self.firstOccurrence(of: allowedBytes, in: utf8, from: start)
                let end = hit?.offset ?? utf8.count
                encodeOrdinary(UnsafeBufferPointer(rebasing: utf8[start..<end]), into: &out, cache: &cache)
                guard let hit else { break }
                out.append(allowedBytes[hit.which].1)
                start = hit.offset + allowedBytes[hit.which].0.count
            }
            return out
        }
    }

    /// Encodes text ignoring special tokens: their text is encoded like any other text
    /// (tiktoken's `encode_ordinary`, same as `encode(text, disallowedSpecial: [])`).
    /// - Returns: token ids; never throws.
    public func encodeOrdinary(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { utf8 in
            var out: [Int] = []
            out.reserveCapacity(utf8.count / 4 + 1)
            var cache = PieceCache()
            encodeOrdinary(utf8, into: &out, cache: &cache)
            return out
        }
    }

    /// The pieces GPT-2's pattern splits `text` into before BPE (for inspection and tests; the
    /// expected.json fixture lists them as `pieces`). Special tokens are not treated specially.
    public static func preTokenize(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { utf8 in
            GPT2PreTokenizer.bmpClasses.withUnsafeBufferPointer { classes in
                var scanner = GPT2PreTokenizer(text: utf8, classes: classes)
                var pieces: [String] = []
                while let range = scanner.next() {
                    pieces.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[range]), as: UTF8.self))
                }
                return pieces
            }
        }
    }

    /// Leftmost occurrence of any needle at or after `from`; on a tie the longest needle wins.
    private static func firstOccurrence(
        of needles: [([UInt8], Int)], in haystack: UnsafeBufferPointer<UInt8>, from: Int
    ) -> (offset: Int, which: Int)? {
        var best: (offset: Int, which: Int)?
        for (k, needle) in needles.enumerated() {
            let bytes = needle.0
            guard let first = bytes.first, bytes.count <= haystack.count else { continue }
            var i = from
            let last = min(haystack.count - bytes.count, best.map { $0.offset } ?? Int.max)
            search: while i <= last {
                if haystack[i] == first {
                    var j = 1
                    while j < bytes.count, haystack[i + j] == bytes[j] { j += 1 }
                    if j == bytes.count {
                        if best == nil || i < best!.offset || bytes.count > needles[best!.which].0.count {
                            best = (i, k)
                        }
                        break search
                    }
                }
                i += 1
            }
        }
        return best
    }

    /// Pieces that are not single tokens, with their ids, for the duration of one `encode` call.
    struct PieceCache {
        var table: ByteStringTable?
        var ids: [Int32] = []
        var spanStarts: [Int32] = [0]
    }

    /// Encodes a stretch of text without special tokens, appending to `out`.
    private func encodeOrdinary(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [Int], cache: inout PieceCache) {
        GPT2PreTokenizer.bmpClasses.withUnsafeBufferPointer { classes in
            var scanner = GPT2PreTokenizer(text: utf8, classes: classes)
            var scratch: [Int32] = []
            while let range = scanner.next() {
                let piece = UnsafeBufferPointer(rebasing: utf8[range])
                let hash = ByteStringTable.hash(piece)
                let direct = ordinary.find(piece, hash: hash)
                if direct >= 0 {
                    out.append(Int(direct))
                    continue
                }
                if let table = cache.table {
                    let entry = table.find(piece, hash: hash)
                    if entry >= 0 {
                        let lo = Int(cache.spanStarts[Int(entry)]), hi = Int(cache.spanStarts[Int(entry) + 1])
                        for k in lo..<hi { out.append(Int(cache.ids[k])) }
                        continue
                    }
                }
                scratch.removeAll(keepingCapacity: true)
                bytePairMerge(piece, into: &scratch)
                for id in scratch { out.append(Int(id)) }
                if cache.table == nil { cache.table = ByteStringTable(minimumCapacity: 256) }
                cache.table!.insert(piece, value: Int32(cache.spanStarts.count - 1))
                cache.ids.append(contentsOf: scratch)
                cache.spanStarts.append(Int32(cache.ids.count))
            }
        }
    }

    // MARK: Decoding

    /// Bytes of one token (tiktoken's `decode_single_token_bytes`).
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` if `id` is not a token.
    public func tokenBytes(_ id: Int) throws -> [UInt8] {
        guard id >= 0, id < nVocab, tokenKnown[id] else { throw TokenizerError.unknownTokenID(id) }
        return Array(tokenArena[Int(tokenStarts[id])..<Int(tokenStarts[id + 1])])
    }

    /// Concatenated bytes of the tokens (tiktoken's `decode_bytes`); may end inside a UTF-8 character.
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id that is not a token.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        // Two passes: validate and size, then copy each token's bytes straight into the result.
        var total = 0
        for id in ids {
            guard id >= 0, id < nVocab, tokenKnown[id] else { throw TokenizerError.unknownTokenID(id) }
            total += Int(tokenStarts[id + 1] - tokenStarts[id])
        }
        return tokenArena.withUnsafeBufferPointer { arena in
            tokenStarts.withUnsafeBufferPointer { starts in
                [UInt8](unsafeUninitializedCapacity: total) { out, count in
                    var at = 0
                    for id in ids {
                        let lo = Int(starts[id]), n = Int(starts[id + 1]) - lo
                        if n > 0 { (out.baseAddress! + at).initialize(from: arena.baseAddress! + lo, count: n) }
                        at += n
                    }
                    count = total
                }
            }
        }
    }

    /// Decodes ids to text as tiktoken's `decode(ids)` (`errors="replace"`): each invalid or
    /// incomplete UTF-8 sequence becomes one U+FFFD per maximal ill-formed subpart, so decoding a
    /// token that carries part of a character gives `"\u{FFFD}"`, never a crash (bug case B27, docs/cases.md).
    /// Use ``decodeBytes(_:)`` or ``TokenStreamDecoder`` to keep partial characters.
    /// - Throws: ``TokenizerError/unknownTokenID(_:)`` for an id that is not a token.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}
