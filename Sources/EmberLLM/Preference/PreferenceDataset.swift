import EmberNN
import Foundation

/// One pre-tokenized example of ``PreferenceDataset``: the prompt alone and the two full texts.
public struct PreferenceSample: Sendable, Equatable {
    /// Token ids of `formatInput(entry)`.
    public var prompt: [Int]
    /// Token ids of the prompt, `"\n\n### Response:\n"` and the preferred response.
    public var chosen: [Int]
    /// Token ids of the prompt, `"\n\n### Response:\n"` and the dispreferred response.
    public var rejected: [Int]

    /// A sample of the given token ids.
    public init(prompt: [Int], chosen: [Int], rejected: [Int]) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// The DPO notebook's `PreferenceDataset` (ch. 7 bonus, `dpo-from-scratch.ipynb` §2.3): every entry
/// tokenized once, when the dataset is made — the prompt (`format_input(entry)`) and the prompt
/// followed by `"\n\n### Response:\n"` and the chosen, respectively rejected, response.
///
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/ch07/04_preference-tuning-with-dpo/dpo-from-scratch.ipynb
public struct PreferenceDataset: Dataset {
    /// The entries, in file order.
    public let data: [PreferenceEntry]
    /// Their token ids (`encoded_texts`).
    public let encodedTexts: [PreferenceSample]

    /// Tokenizes `data` as the notebook does (`tokenizer.encode`: `<|endoftext|>` in a text is an error, as tiktoken's).
    /// - Throws: ``TokenizerError/disallowedSpecialToken(_:)`` for an entry that contains a special token's text.
    public init(_ data: [PreferenceEntry], tokenizer: GPT2Tokenizer) throws {
        self.data = data
        encodedTexts = try data.map { entry in
            let prompt = formatInput(entry)
            return PreferenceSample(prompt: try tokenizer.encode(prompt),
                                    chosen: try tokenizer.encode(prompt + alpacaResponseHeader + entry.chosen),
                                    rejected: try tokenizer.encode(prompt + alpacaResponseHeader + entry.rejected))
        }
    }

    /// `len(dataset)`.
    public var count: Int { data.count }
    /// `dataset[index]`: the encoded texts of entry `index`.
    public subscript(index: Int) -> PreferenceSample { encodedTexts[index] }
}
