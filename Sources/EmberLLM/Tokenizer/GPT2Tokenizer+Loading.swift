import Foundation

extension GPT2Tokenizer {
    /// Ids of GPT-2's special tokens (tiktoken `gpt2`: `{"<|endoftext|>": 50256}`).
    public static let gpt2SpecialTokens = ["<|endoftext|>": 50256]

    /// Loads GPT-2's tokenizer from OpenAI's two files.
    ///
    /// - Parameters:
    ///   - encoderJSON: `encoder.json`: token (in GPT-2's byte-level alphabet) → id.
    ///   - vocabBPE: `vocab.bpe`: `#version` line, then one merge `left right` per line in rank order.
    ///   - specialTokens: tokens matched as whole strings before BPE, kept out of the mergeable table.
    /// - Throws: ``TokenizerError/malformedVocabulary(file:detail:)`` if a file cannot be read or
    ///   parsed, or if the merges do not produce ids `256, 257, …` in order — the consistency check
    ///   tiktoken's `data_gym_to_mergeable_bpe_ranks` makes (ids double as merge ranks).
    public convenience init(
        encoderJSON: URL, vocabBPE: URL, specialTokens: [String: Int] = GPT2Tokenizer.gpt2SpecialTokens
    ) throws {
        let encoderName = encoderJSON.lastPathComponent
        let bpeName = vocabBPE.lastPathComponent
        let entries: [(key: String, value: Int)]
        do {
            entries = try EncoderJSONReader.read(Array(try Data(contentsOf: encoderJSON)))
        } catch {
            throw TokenizerError.malformedVocabulary(file: encoderName, detail: "\(error)")
        }
        let mergesText: String
        do {
            mergesText = try String(contentsOf: vocabBPE, encoding: .utf8)
        } catch {
            throw TokenizerError.malformedVocabulary(file: bpeName, detail: "\(error)")
        }

        var tokens: [(bytes: [UInt8], id: Int)] = []
        tokens.reserveCapacity(entries.count)
        var bytesByID = [[UInt8]?](repeating: nil, count: entries.count)
        for (text, id) in entries {
            if let special = specialTokens[text] {
                guard special == id else {
                    throw TokenizerError.malformedVocabulary(file: encoderName, detail: "special token \(text) has id \(id), expected \(special)")
                }
                continue
            }
            guard let bytes = ByteLevelAlphabet.bytes(of: Substring(text)) else {
                throw TokenizerError.malformedVocabulary(file: encoderName, detail: "token \(text.debugDescription) uses a character outside the byte-level alphabet")
            }
            tokens.append((bytes, id))
            if id < bytesByID.count { bytesByID[id] = bytes }
        }

        // Rank check: the single bytes take ids 0..<256 in the order of their alphabet code points
        // (printable bytes first), and merge k yields id 256 + k.
        let byteOrder = (0..<256).sorted { ByteLevelAlphabet.byteToScalar[$0] < ByteLevelAlphabet.byteToScalar[$1] }
        for (id, byte) in byteOrder.enumerated() where bytesByID[id] != [UInt8(byte)] {
            throw TokenizerError.malformedVocabulary(file: encoderName, detail: "id \(id) should be the single byte \(byte)")
        }
        var expected = 256
        var lineNumber = 0
        for line in mergesText.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if lineNumber == 1 && line.hasPrefix("#version") { continue }
            if line.isEmpty { continue }
            let halves = line.split(separator: " ", omittingEmptySubsequences: false)
            guard halves.count == 2,
                  let left = ByteLevelAlphabet.bytes(of: halves[0]),
                  let right = ByteLevelAlphabet.bytes(of: halves[1]) else {
                throw TokenizerError.malformedVocabulary(file: bpeName, detail: "line \(lineNumber) is not a merge: \(line.debugDescription)")
            }
            guard expected < bytesByID.count, bytesByID[expected] == left + right else {
                throw TokenizerError.malformedVocabulary(
                    file: bpeName,
                    detail: "line \(lineNumber) merges to \((left + right)) but \(encoderName) gives id \(expected) to \(expected < bytesByID.count ? bytesByID[expected].map { "\($0)" } ?? "nothing" : "nothing")")
            }
            expected += 1
        }
        guard expected == tokens.count else {
            throw TokenizerError.malformedVocabulary(file: bpeName, detail: "\(expected - 256) merges for \(tokens.count) ordinary tokens (expected 256 + merges)")
        }
        try self.init(tokens: tokens, specialTokens: specialTokens)
    }

    /// GPT-2's tokenizer from the files bundled with EmberLLM (`Resources/gpt2/encoder.json`,
    /// `Resources/gpt2/vocab.bpe`), built once per process and shared (it is immutable).
    ///
    /// - Returns: the tokenizer (`nVocab` 50,257, `<|endoftext|>` = 50256).
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if the files are not in the bundle, or
    ///   ``TokenizerError/malformedVocabulary(file:detail:)`` if they do not parse.
    public static func gpt2() throws -> GPT2Tokenizer {
        try bundledGPT2.get()
    }

    private static let bundledGPT2: Result<GPT2Tokenizer, TokenizerError> = {
        do {
            return .success(try GPT2Tokenizer(
                encoderJSON: try BundledResource.url("encoder", "json", in: "gpt2"),
                vocabBPE: try BundledResource.url("vocab", "bpe", in: "gpt2")))
        } catch let error as TokenizerError {
            return .failure(error)
        } catch {
            return .failure(.malformedVocabulary(file: "gpt2", detail: "\(error)"))
        }
    }()
}

/// Files shipped in `Sources/EmberLLM/Resources/` (see `Resources/SOURCES.md`).
public enum BundledResource {
    /// URL of `Resources/<folder>/<name>.<ext>` in the EmberLLM bundle.
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if absent.
    public static func url(_ name: String, _ ext: String, in folder: String? = nil) throws -> URL {
        let subdirectory = folder.map { "Resources/\($0)" } ?? "Resources"
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: subdirectory) else {
            throw TokenizerError.resourceMissing("\(subdirectory)/\(name).\(ext)")
        }
        return url
    }

    /// The book's training text, Edith Wharton's "The Verdict" (20,479 characters; book ch. 2).
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if the file is absent.
    public static func theVerdict() throws -> String {
        let url = try url("the-verdict", "txt")
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TokenizerError.unreadableResource(file: "the-verdict.txt", detail: "\(error)")
        }
    }
}
