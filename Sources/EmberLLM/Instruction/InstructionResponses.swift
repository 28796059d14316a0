import EmberCore
import Foundation

/// A test entry with the finetuned model's answer: one element of the book's
/// `instruction-data-with-response.json` (ch. 7 §7.7).
public struct InstructionResponse: Codable, Sendable, Equatable {
    public var instruction: String
    public var input: String
    public var output: String
    /// The model's answer, extracted by ``InstructionResponses/extractResponse(generatedText:inputText:)``.
    public var modelResponse: String

    enum CodingKeys: String, CodingKey {
        case instruction, input, output
        case modelResponse = "model_response"
    }

    public init(_ entry: InstructionEntry, modelResponse: String) {
        instruction = entry.instruction
        input = entry.input
        output = entry.output
        self.modelResponse = modelResponse
    }
}

/// The book's answers for the test set (ch. 7 §7.7): greedy generation after each prompt, the
/// response cut out of the decoded text, and the JSON file the judging step (§7.8) reads.
public enum InstructionResponses {
    /// The book's file name, `instruction-data-with-response.json`.
    public static let fileName = "instruction-data-with-response.json"

    /// The book's extraction: `generated_text[len(input_text):].replace("### Response:", "").strip()` —
    /// the text after the prompt (counted in Unicode scalars, as Python's `len`), without the response
    /// header, without leading and trailing whitespace (Python's `str.strip()`).
    public static func extractResponse(generatedText: String, inputText: String) -> String {
        let scalars = generatedText.unicodeScalars
        let cut = scalars.index(scalars.startIndex, offsetBy: Swift.min(inputText.unicodeScalars.count, scalars.count))
        let rest = String(scalars[cut...]).replacingOccurrences(of: "### Response:", with: "")
        return rest.trimmingCharacters(in: pythonWhitespace)
    }

    /// The characters Python's `str.strip()` removes (`str.isspace()`).
    static let pythonWhitespace = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{1C}\u{1D}\u{1E}\u{1F}"))

    /// Answers for `entries`, as the book's loop does for each test entry:
    /// `generate(model, text_to_token_ids(format_input(entry)), max_new_tokens=256,
    /// context_size=context_length, eos_id=50256)`, decoded, then ``extractResponse(generatedText:inputText:)``.
    /// The prompts run `batchSize` at a time through
    /// ``generateBatched(model:prompts:maxNewTokens:contextSize:eosId:batchSize:onToken:)`` (the same
    /// tokens as one at a time). The model should be in eval mode.
    /// - Parameters:
    ///   - progress: called with the number of entries answered so far.
    /// - Throws: the tokenizer's errors (special-token text other than `<|endoftext|>` in a prompt).
    public static func generate(model: GPTModel, entries: [InstructionEntry], tokenizer: GPT2Tokenizer,
                                maxNewTokens: Int = 256, contextSize: Int? = nil, eosId: Int = 50256, batchSize: Int = 8,
                                progress: (Int) -> Void = { _ in }) throws -> [InstructionResponse] {
        let inputs = entries.map(formatInput)
        let prompts = try inputs.map { try tokenizer.encode($0, allowedSpecial: ["<|endoftext|>"]) }
        var answers: [InstructionResponse] = []
        answers.reserveCapacity(entries.count)
        for start in stride(from: 0, to: entries.count, by: Swift.max(1, batchSize)) {
            let range = start ..< Swift.min(start + Swift.max(1, batchSize), entries.count)
            let new = generateBatched(model: model, prompts: Array(prompts[range]), maxNewTokens: maxNewTokens,
                                      contextSize: contextSize, eosId: eosId, batchSize: batchSize)
            for (i, index) in range.enumerated() {
                let text = try tokenizer.decode(prompts[index] + new[i])
                answers.append(InstructionResponse(entries[index], modelResponse: extractResponse(generatedText: text, inputText: inputs[index])))
            }
            progress(answers.count)
        }
        return answers
    }

    /// The file as the book writes it, `json.dump(test_data, file, indent=4)`: four-space indent,
    /// keys in the order instruction, input, output, model_response, non-ASCII characters as
    /// `\uXXXX` escapes (Python's `ensure_ascii`), no final newline.
    public static func json(_ responses: [InstructionResponse]) -> String {
        guard !responses.isEmpty else { return "[]" }
        let items = responses.map { r in
            [("instruction", r.instruction), ("input", r.input), ("output", r.output), ("model_response", r.modelResponse)]
                .map { "        \(pythonJSONString($0.0)): \(pythonJSONString($0.1))" }.joined(separator: ",\n")
        }
        return "[\n" + items.map { "    {\n\($0)\n    }" }.joined(separator: ",\n") + "\n]"
    }

    /// Writes ``json(_:)`` to `url` atomically (a temporary file, then a rename).
    /// - Throws: the file system's error.
    public static func write(_ responses: [InstructionResponse], to url: URL) throws {
        try Data(json(responses).utf8).write(to: url, options: .atomic)
    }

    /// Python's `json.dumps(s)` with `ensure_ascii=True`.
    static func pythonJSONString(_ s: String) -> String {
        var out = "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default: out += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16)
            }
        }
        return out + "\""
    }
}
