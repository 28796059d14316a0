import EmberCore
import EmberNN

/// One pre-tokenized example of ``InstructionDataset``: the ids of the whole Alpaca-style text and
/// how many of them are the prompt.
public struct InstructionSample: Sendable, Equatable {
    /// GPT-2 ids of `formatInput(entry) + "\n\n### Response:\n" + entry.output`.
    public var tokenIds: [Int]
    /// Number of ids of `formatInput(entry)` alone (exercise 7.2's `instruction_length`): what
    /// ``customCollate(_:padTokenId:ignoreIndex:allowedMaxLength:maskInstruction:)`` masks out of the
    /// loss with `maskInstruction`.
    public var instructionLength: Int

    public init(tokenIds: [Int], instructionLength: Int) {
        self.tokenIds = tokenIds
        self.instructionLength = instructionLength
    }
}

/// The book's `InstructionDataset` (ch. 7 §7.3): every entry pre-tokenized as
/// `formatInput(entry) + "\n\n### Response:\n" + output` (`tokenizer.encode(full_text)`: special-token
/// text in an entry is an error, as tiktoken's default). Each sample also carries the prompt's length
/// in tokens, as exercise 7.2's variant of the dataset stores it.
public struct InstructionDataset: Dataset {
    /// The entries, in dataset order.
    public let entries: [InstructionEntry]
    /// One sample per entry.
    public let samples: [InstructionSample]

    /// - Throws: ``TokenizerError/disallowedSpecialToken(_:)`` when an entry contains special-token
    ///   text such as `<|endoftext|>`.
    public init(_ entries: [InstructionEntry], tokenizer: GPT2Tokenizer) throws {
        self.entries = entries
        samples = try entries.map { entry in
            let prompt = formatInput(entry)
            let full = try tokenizer.encode(prompt + alpacaResponseHeader + entry.output)
            return InstructionSample(tokenIds: full, instructionLength: try tokenizer.encode(prompt).count)
        }
    }

    /// `len(dataset)`.
    public var count: Int { samples.count }
    /// `dataset[index]`: the pre-tokenized example.
    public subscript(index: Int) -> InstructionSample { samples[index] }
}
