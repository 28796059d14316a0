import Foundation

/// Errors thrown by the tokenizers in this folder (GPT-2 BPE and the book's chapter-2 tokenizers).
///
/// Each case's `errorDescription` mirrors the message of the Python reference where one exists
/// (tiktoken's `ValueError` for disallowed special tokens, Python's `KeyError` for unknown words).
public enum TokenizerError: Error, LocalizedError, Equatable, Sendable {
    /// A bundled resource (e.g. `Resources/gpt2/encoder.json`) is not in the package bundle.
    case resourceMissing(String)
    /// A bundled file exists but could not be read (`file`, the underlying error).
    case unreadableResource(file: String, detail: String)
    /// A vocabulary file could not be read or is inconsistent (`file`, what is wrong).
    case malformedVocabulary(file: String, detail: String)
    /// `encode` met the text of a special token that is neither allowed nor exempted from the check
    /// (tiktoken's default `disallowed_special="all"`).
    case disallowedSpecialToken(String)
    /// `decode` was given a token id outside `0..<nVocab` (tiktoken raises `KeyError`).
    case unknownTokenID(Int)
    /// The book's `SimpleTokenizerV1` met a word missing from its vocabulary
    /// (Python: `KeyError: 'Hello'`).
    case unknownToken(String)

    public var errorDescription: String? {
        switch self {
        case .resourceMissing(let name):
            return "Tokenizer resource '\(name)' is missing from the EmberLLM bundle "
                + "(expected under Sources/EmberLLM/Resources/)."
        case .unreadableResource(let file, let detail):
            return "Could not read \(file): \(detail)"
        case .malformedVocabulary(let file, let detail):
            return "Malformed tokenizer vocabulary in \(file): \(detail)"
        case .disallowedSpecialToken(let token):
            // Same wording as tiktoken's `raise_disallowed_special_token`.
            return "Encountered text corresponding to disallowed special token '\(token)'.\n"
                + "If you want this text to be encoded as a special token, pass it to `allowed_special`, "
                + "e.g. `allowed_special={'\(token)', ...}`.\n"
                + "If you want this text to be encoded as normal text, disable the check for this token "
                + "by passing `disallowed_special=(enc.special_tokens_set - {'\(token)'})`.\n"
                + "To disable this check for all special tokens, pass `disallowed_special=()`.\n"
        case .unknownTokenID(let id):
            return "Token id \(id) is not in the vocabulary."
        case .unknownToken(let token):
            return "KeyError: '\(token)'"
        }
    }
}
