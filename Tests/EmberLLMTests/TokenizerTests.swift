import EmberLLM
import Foundation
import XCTest

/// Tokenizers against tiktoken 0.14.0 (`Fixtures/tokenizer/expected.json`, `extra_cases.json`,
/// `the-verdict.gpt2-token-ids.json`), the book's chapter-2 cases (C01, C03–C05)
/// and bug cases B27, B29 (docs/cases.md).
final class TokenizerTests: XCTestCase {
    // MARK: Fixture helpers

    private func fixture(_ name: String) throws -> Any {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/tokenizer") else {
            throw XCTSkip("fixture Fixtures/tokenizer/\(name).json is missing from the test bundle")
        }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    private func object(_ any: Any?, _ what: String) throws -> [String: Any] {
        try XCTUnwrap(any as? [String: Any], "\(what) is not a JSON object")
    }

    private func ints(_ any: Any?, _ what: String) throws -> [Int] {
        try XCTUnwrap(any as? [Any], "\(what) is not an array").map { try XCTUnwrap(($0 as? NSNumber)?.intValue, "\(what) holds a non-integer") }
    }

    /// Fails with the case name, the first differing index and the ids around it.
    private func assertIDs(_ actual: [Int], _ expected: [Int], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        guard actual != expected else { return }
        let i = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
        let window = { (a: [Int]) in Array(a[max(0, i - 3)..<min(a.count, i + 4)]) }
        XCTFail("\(label): ids differ at index \(i) (count \(actual.count) vs expected \(expected.count)); "
            + "got \(window(actual)) expected \(window(expected)) around it", file: file, line: line)
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    private var tokenizer: GPT2Tokenizer {
        get throws { try GPT2Tokenizer.gpt2() }
    }

    // MARK: GPT-2 BPE vs tiktoken (expected.json)

    /// expected.json `encoding`: vocabulary size, `<|endoftext|>` id, and the byte → alphabet table
    /// (ids 0…255 are the single bytes in the order of their alphabet code points).
    func testEncodingTableMatchesFixture() throws {
        let tok = try tokenizer
        let encoding = try object(try object(try fixture("expected"), "root")["encoding"], "encoding")
        XCTAssertEqual(tok.nVocab, try ints([encoding["n_vocab"]!], "n_vocab")[0])
        XCTAssertEqual(tok.endOfTextTokenID, 50256)
        XCTAssertEqual(tok.specialTokens, ["<|endoftext|>": 50256])
        let table = try ints(encoding["byte_to_unicode_codepoints"], "byte_to_unicode_codepoints")
        let byteOrder = (0..<256).sorted { table[$0] < table[$1] }
        for (id, byte) in byteOrder.enumerated() {
            XCTAssertEqual(try tok.tokenBytes(id), [UInt8(byte)], "token \(id) should be the byte \(byte)")
        }
    }

    /// expected.json `cases[]`: ids, pieces, token bytes and round trip of every case.
    func testFixtureCasesMatchTiktoken() throws {
        let tok = try tokenizer
        let cases = try XCTUnwrap(try object(try fixture("expected"), "root")["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 40)
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let text = try XCTUnwrap(c["text"] as? String)
            XCTAssertEqual(hex(Array(text.utf8)), c["utf8_hex"] as? String, "\(name): fixture text did not load intact")
            let ids = try ints(c["ids"], name)
            assertIDs(try tok.encode(text), ids, "case \(name) encode")
            assertIDs(tok.encodeOrdinary(text), ids, "case \(name) encodeOrdinary")
            XCTAssertEqual(GPT2Tokenizer.preTokenize(text), c["pieces"] as? [String], "case \(name): pieces")
            XCTAssertEqual(try ids.map { hex(try tok.tokenBytes($0)) }, c["tokens_hex"] as? [String], "case \(name): token bytes")
            XCTAssertEqual(try tok.decode(ids), c["decoded"] as? String, "case \(name): decode")
        }
    }

    /// expected.json `partial_utf8_decodes[]`: prefixes of multi-token characters (tiktoken decodes
    /// with `errors="replace"`).
    func testPartialUTF8DecodesMatchTiktoken() throws {
        let tok = try tokenizer
        let cases = try XCTUnwrap(try object(try fixture("expected"), "root")["partial_utf8_decodes"] as? [[String: Any]])
        for c in cases {
            let ids = try ints(c["ids"], "partial ids")
            XCTAssertEqual(hex(try tok.decodeBytes(ids)), c["bytes_hex"] as? String, "ids \(ids): bytes")
            XCTAssertEqual(try tok.decode(ids), c["decode_replace"] as? String, "ids \(ids): lossy decode")
        }
    }

    /// The whole of the-verdict.txt (bundled) against tiktoken's 5,145 ids
    /// (Fixtures/tokenizer/the-verdict.gpt2-token-ids.json; see Fixtures/tokenizer/README.md).
    func testTheVerdictMatchesTiktoken() throws {
        let tok = try tokenizer
        let text = try BundledResource.theVerdict()
        let expected = try ints(try fixture("the-verdict.gpt2-token-ids"), "the-verdict ids")
        XCTAssertEqual(expected.count, 5145)
        assertIDs(try tok.encode(text), expected, "the-verdict.txt")
        XCTAssertEqual(try tok.decode(expected), text, "the-verdict.txt round trip")
        let document = try object(try object(try object(try fixture("expected"), "root")["documents"], "documents")["the-verdict.txt"], "doc")
        XCTAssertEqual(Array(expected.prefix(20)), try ints(document["first20"], "first20"))
        XCTAssertEqual(Array(expected.suffix(20)), try ints(document["last20"], "last20"))
    }

    /// extra_cases.json (made by make_extra_cases.py with tiktoken 0.14.0): long pieces that take the
    /// heap merge, pre-tokenizer corner cases, and 400 seeded random strings.
    func testExtraCasesMatchTiktoken() throws {
        let tok = try tokenizer
        let root = try object(try fixture("extra_cases"), "root")
        let edge = try XCTUnwrap(root["edge_cases"] as? [[String: Any]])
        for c in edge {
            let name = c["name"] as? String ?? "?"
            let text = try XCTUnwrap(c["text"] as? String)
            assertIDs(tok.encodeOrdinary(text), try ints(c["ids"], name), "edge case \(name)")
            XCTAssertEqual(try tok.decode(try ints(c["ids"], name)), text, "edge case \(name): round trip")
        }
        let fuzz = try XCTUnwrap(root["fuzz_cases"] as? [[String: Any]])
        XCTAssertEqual(fuzz.count, 400)
        for (k, c) in fuzz.enumerated() {
            let text = try XCTUnwrap(c["text"] as? String)
            assertIDs(tok.encodeOrdinary(text), try ints(c["ids"], "fuzz \(k)"), "fuzz case \(k) \(text.debugDescription)")
        }
    }

    // MARK: Book cases

    /// C01: the-verdict.txt length, first 99 characters, the book's regex split and its vocabulary.
    func testC01TheVerdictBasics() throws {
        let text = try BundledResource.theVerdict()
        XCTAssertEqual(text.unicodeScalars.count, 20479)  // Python len() counts code points
        XCTAssertEqual(String(String.UnicodeScalarView(text.unicodeScalars.prefix(99))),
                       "I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow enough--so it was no ")
        XCTAssertEqual(String(String.UnicodeScalarView(text.unicodeScalars.suffix(99))),
                       "it for me! The Strouds stand alone, and happen once--but there's no exterminating our kind of art.\"")
        let tokens = SimpleTokenizerSplitter.split(text)
        XCTAssertEqual(Array(tokens.prefix(30)), ["I", "HAD", "always", "thought", "Jack", "Gisburn", "rather", "a", "cheap", "genius", "--",
                                                  "though", "a", "good", "fellow", "enough", "--", "so", "it", "was", "no", "great", "surprise", "to", "me",
                                                  "to", "hear", "that", ",", "in"])
        XCTAssertEqual(tokens.count, 4690)
        let vocab = SimpleTokenizerV1.buildVocabulary(from: text)
        XCTAssertEqual(vocab.count, 1130)
        let byID = vocab.sorted { $0.value < $1.value }.map(\.key)
        XCTAssertEqual(Array(byID.prefix(15)), ["!", "\"", "'", "(", ")", ",", "--", ".", ":", ";", "?", "A", "Ah", "Among", "And"])
        XCTAssertEqual(vocab["Gisburn"], 38)
        XCTAssertEqual(vocab["HAD"], 44)
        XCTAssertEqual(vocab["Had"], 45)
        XCTAssertEqual(vocab["Hermia"], 50)
        let vocab2 = SimpleTokenizerV2.buildVocabulary(from: text)
        XCTAssertEqual(vocab2.count, 1132)
        XCTAssertEqual(Array(vocab2.sorted { $0.value < $1.value }.suffix(5).map(\.key)),
                       ["younger", "your", "yourself", "<|endoftext|>", "<|unk|>"])
        XCTAssertEqual(vocab2["younger"], 1127)
        XCTAssertEqual(vocab2["<|unk|>"], 1131)
    }

    /// C03: SimpleTokenizerV1 round trip and `KeyError: 'Hello'`.
    func testC03SimpleTokenizerV1() throws {
        let tokenizer = SimpleTokenizerV1(vocabulary: SimpleTokenizerV1.buildVocabulary(from: try BundledResource.theVerdict()))
        let text = "\"It's the last he painted, you know,\" \n           Mrs. Gisburn said with pardonable pride."
        let ids = try tokenizer.encode(text)
        XCTAssertEqual(ids, [1, 56, 2, 850, 988, 602, 533, 746, 5, 1126, 596, 5, 1, 67, 7, 38, 851, 1108, 754, 793, 7])
        let expected = "\" It' s the last he painted, you know,\" Mrs. Gisburn said with pardonable pride."
        XCTAssertEqual(try tokenizer.decode(ids), expected)
        XCTAssertEqual(try tokenizer.decode(try tokenizer.encode(expected)), expected)
        XCTAssertThrowsError(try tokenizer.encode("Hello, do you like tea. Is this-- a test?")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownToken("Hello"))
            XCTAssertEqual((error as? TokenizerError)?.errorDescription, "KeyError: 'Hello'")
        }
        XCTAssertThrowsError(try tokenizer.decode([1130])) { XCTAssertEqual($0 as? TokenizerError, .unknownTokenID(1130)) }
    }

    /// C04 (and B29's ch02 part): SimpleTokenizerV2 with `<|unk|>` and `<|endoftext|>`.
    func testC04SimpleTokenizerV2() throws {
        let tokenizer = SimpleTokenizerV2(vocabulary: SimpleTokenizerV2.buildVocabulary(from: try BundledResource.theVerdict()))
        let text = ["Hello, do you like tea?", "In the sunlit terraces of the palace."].joined(separator: " <|endoftext|> ")
        XCTAssertEqual(text, "Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace.")
        let ids = try tokenizer.encode(text)
        XCTAssertEqual(ids, [1131, 5, 355, 1126, 628, 975, 10, 1130, 55, 988, 956, 984, 722, 988, 1131, 7])
        XCTAssertEqual(try tokenizer.decode(ids), "<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>.")
        // V2 also removes the space before ':' and ';' (book's V2 decode pattern `[,.:;?!"()\']`), V1 does not.
        let colon = try tokenizer.encode("I had: it; no")
        XCTAssertEqual(try tokenizer.decode(colon), "I had: it; no")
        let v1 = SimpleTokenizerV1(vocabulary: SimpleTokenizerV1.buildVocabulary(from: try BundledResource.theVerdict()))
        XCTAssertEqual(try v1.decode(try v1.encode("I had: it; no")), "I had : it ; no")
    }

    /// C05: tiktoken gpt2 with `<|endoftext|>` allowed; `n_vocab` 50,257.
    func testC05GPT2WithEndOfText() throws {
        let tok = try tokenizer
        let text = "Hello, do you like tea? <|endoftext|> In the sunlit terracesof someunknownPlace."
        let ids = try tok.encode(text, allowedSpecial: ["<|endoftext|>"])
        XCTAssertEqual(ids, [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 1659, 617,
                             34680, 27271, 13])
        XCTAssertEqual(try tok.decode(ids), text)
        XCTAssertEqual(tok.nVocab, 50257)
        XCTAssertEqual(try tok.encode("<|endoftext|>", allowedSpecial: ["<|endoftext|>"]), [50256])
    }

    // MARK: Bug cases

    /// B27: a token can carry part of a UTF-8 character. Lossy decode gives U+FFFD (never a crash),
    /// bytes stay exact, the stream decoder waits for the rest, and every fixture text round-trips.
    func testB27PartialCharactersDecode() throws {
        let tok = try tokenizer
        let sentence = "This is an example \u{201C}sentence\u{201C} to try encoding out on!"
        XCTAssertEqual(try tok.encode(sentence), [1212, 318, 281, 1672, 564, 250, 34086, 594, 447, 250, 284, 1949, 21004, 503, 319, 0])
        XCTAssertEqual(try tok.tokenBytes(564), [0x20, 0xE2, 0x80])
        XCTAssertEqual(try tok.tokenBytes(250), [0x9C])
        XCTAssertEqual(try tok.decode([564, 250]), " \u{201C}")
        XCTAssertEqual(try tok.decode([564]), " \u{FFFD}")
        XCTAssertEqual(try tok.decodeBytes([564]), [0x20, 0xE2, 0x80])
        XCTAssertEqual(try tok.encode("\u{1F600}"), [47249, 222])

        var stream = TokenStreamDecoder(tokenizer: tok)
        XCTAssertEqual(try stream.push(47249), "")
        XCTAssertEqual(try stream.push(222), "\u{1F600}")
        XCTAssertEqual(stream.finish(), "")
        XCTAssertEqual(try stream.push(564), " ")  // the open E2 80 waits
        XCTAssertEqual(stream.finish(), "\u{FFFD}")

        // The whole kind: every text of every fixture, streamed token by token, comes back whole
        // with no replacement character, and equals decode() of all ids.
        let root = try object(try fixture("expected"), "root")
        let extra = try object(try fixture("extra_cases"), "root")
        var texts = try XCTUnwrap(root["cases"] as? [[String: Any]]).compactMap { $0["text"] as? String }
        texts += try XCTUnwrap(extra["edge_cases"] as? [[String: Any]]).compactMap { $0["text"] as? String }
        texts += try XCTUnwrap(extra["fuzz_cases"] as? [[String: Any]]).compactMap { $0["text"] as? String }
        texts.append(sentence)
        for text in texts {
            let ids = tok.encodeOrdinary(text)
            XCTAssertEqual(try tok.decode(ids), text, "round trip of \(text.debugDescription)")
            var decoder = TokenStreamDecoder(tokenizer: tok)
            var streamed = ""
            for id in ids {
                let piece = try decoder.push(id)
                XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}") && !text.unicodeScalars.contains("\u{FFFD}"),
                               "stream of \(text.debugDescription) emitted U+FFFD at token \(id)")
                streamed += piece
            }
            streamed += decoder.finish()
            XCTAssertEqual(streamed, text, "streamed decode of \(text.debugDescription)")
        }

        // Ill-formed byte strings decode as Python's bytes.decode("utf-8", "replace") (extra_cases.json).
        let byteToID = Dictionary(uniqueKeysWithValues: try (0..<256).map { (try tok.tokenBytes($0)[0], $0) })
        for c in try XCTUnwrap(extra["lossy_decodes"] as? [[String: Any]]) {
            let raw = bytes(hex: try XCTUnwrap(c["bytes_hex"] as? String))
            let ids = raw.map { byteToID[$0]! }
            let expected = try ints(c["decoded_codepoints"], "codepoints")
            XCTAssertEqual(try tok.decode(ids).unicodeScalars.map { Int($0.value) }, expected, "lossy decode of \(hex(raw))")
            var decoder = TokenStreamDecoder(tokenizer: tok)
            let streamed = try ids.map { try decoder.push($0) }.joined() + decoder.finish()
            XCTAssertEqual(streamed.unicodeScalars.map { Int($0.value) }, expected, "streamed lossy decode of \(hex(raw))")
        }
        XCTAssertThrowsError(try tok.decode([50257])) { XCTAssertEqual($0 as? TokenizerError, .unknownTokenID(50257)) }
        XCTAssertThrowsError(try tok.decode([-1])) { XCTAssertEqual($0 as? TokenizerError, .unknownTokenID(-1)) }
    }

    /// B29: `<|endoftext|>` handled as tiktoken's `allowed_special` / `disallowed_special`
    /// (expected.json `special_cases[]`, extra_cases.json `special_cases[]`).
    func testB29EndOfTextSpecialToken() throws {
        let tok = try tokenizer
        let root = try object(try fixture("expected"), "root")
        for c in try XCTUnwrap(root["special_cases"] as? [[String: Any]]) {
            let name = c["name"] as? String ?? "?"
            let text = try XCTUnwrap(c["text"] as? String)
            let allowed = try object(c["allowed_special_eot"], "allowed")
            assertIDs(try tok.encode(text, allowedSpecial: ["<|endoftext|>"]), try ints(allowed["ids"], name), "\(name) allowed")
            assertIDs(try tok.encode(text, allowedSpecial: .all), try ints(allowed["ids"], name), "\(name) allowed .all")
            XCTAssertEqual(try tok.decode(try ints(allowed["ids"], name)), allowed["decoded"] as? String, "\(name) decode")
            let plain = try ints(try object(c["as_plain_text"], "plain")["ids"], name)
            assertIDs(try tok.encode(text, disallowedSpecial: []), plain, "\(name) disallowedSpecial: []")
            assertIDs(tok.encodeOrdinary(text), plain, "\(name) encodeOrdinary")
            let message = try XCTUnwrap(try object(c["default"], "default")["error"] as? String)
            XCTAssertThrowsError(try tok.encode(text), "\(name): default encode must refuse the special token") { error in
                XCTAssertEqual(error as? TokenizerError, .disallowedSpecialToken("<|endoftext|>"))
                XCTAssertEqual("ValueError: " + ((error as? TokenizerError)?.errorDescription ?? ""), message, "\(name) message")
            }
            // An explicit disallowed list wins over allowedSpecial, as in tiktoken.
            XCTAssertThrowsError(try tok.encode(text, allowedSpecial: ["<|endoftext|>"], disallowedSpecial: ["<|endoftext|>"]))
        }
        let extra = try object(try fixture("extra_cases"), "root")
        for c in try XCTUnwrap(extra["special_cases"] as? [[String: Any]]) {
            let name = c["name"] as? String ?? "?"
            let text = try XCTUnwrap(c["text"] as? String)
            assertIDs(try tok.encode(text, allowedSpecial: ["<|endoftext|>"]), try ints(c["allowed_ids"], name), "\(name) allowed")
            assertIDs(try tok.encode(text, disallowedSpecial: .none), try ints(c["plain_ids"], name), "\(name) plain")
        }
        XCTAssertEqual(try tok.decode([50256]), "<|endoftext|>")
        XCTAssertEqual(tok.nVocab, 50257)
        // A string that is not a complete special token is ordinary text and not an error.
        XCTAssertEqual(try tok.encode("a <|endoftext| b"), tok.encodeOrdinary("a <|endoftext| b"))
    }

    /// Loading from explicit URLs gives the same tokenizer; a missing file is a clear error.
    func testLoadFromURLsAndMissingFile() throws {
        let encoder = try BundledResource.url("encoder", "json", in: "gpt2")
        let merges = try BundledResource.url("vocab", "bpe", in: "gpt2")
        let tok = try GPT2Tokenizer(encoderJSON: encoder, vocabBPE: merges)
        XCTAssertEqual(tok.nVocab, 50257)
        XCTAssertEqual(try tok.encode("Every effort moves you"), [6109, 3626, 6100, 345])  // expected.json book_sentence
        let missing = URL(fileURLWithPath: "/nonexistent/encoder.json")
        XCTAssertThrowsError(try GPT2Tokenizer(encoderJSON: missing, vocabBPE: merges)) { error in
            guard case .malformedVocabulary(let file, _)? = error as? TokenizerError else {
                return XCTFail("expected malformedVocabulary, got \(error)")
            }
            XCTAssertEqual(file, "encoder.json")
        }
        XCTAssertThrowsError(try BundledResource.url("nope", "json", in: "gpt2")) {
            XCTAssertEqual($0 as? TokenizerError, .resourceMissing("Resources/gpt2/nope.json"))
        }
    }
}
