import Foundation

/// Why a training or generation run cannot start: bad data, settings or checkpoint. Each case's
/// ``description`` is a complete message for a person (the CLI prints it and exits non-zero).
public enum TrainingError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    /// The data file does not exist.
    case dataFileMissing(path: String)
    /// The data file exists but cannot be read (a folder, no permission, …).
    case dataFileUnreadable(path: String, reason: String)
    /// The data file has no characters (or only whitespace).
    case dataFileEmpty(path: String)
    /// The data file is not UTF-8 text.
    case dataNotUTF8(path: String)
    /// A split of the text is shorter than one training window (`contextLength + 1` tokens);
    /// `part` is "training" or "validation", as in the book's chapter-5 checks.
    case notEnoughTokens(part: String, tokens: Int, needed: Int)
    /// A setting is out of range (e.g. `batch size must be positive, got 0`).
    case invalidSetting(String)
    /// The checkpoint file is missing, unreadable or lacks what the operation needs.
    case invalidCheckpoint(path: String, reason: String)
    /// The checkpoint's tensors do not fit the chosen model; `report` is ``LoadStateDictError``'s text.
    case checkpointMismatch(path: String, config: GPTConfig, report: String)

    /// The message for a person (no "Error:" prefix; the CLI adds it).
    public var description: String {
        switch self {
        case .dataFileMissing(let path):
            return "data file '\(path)' does not exist"
        case .dataFileUnreadable(let path, let reason):
            return "cannot read data file '\(path)': \(reason)"
        case .dataFileEmpty(let path):
            return "data file '\(path)' is empty"
        case .dataNotUTF8(let path):
            return "data file '\(path)' is not UTF-8 text"
        case .notEnoughTokens(let part, let tokens, let needed):
            // The book's wording (ch. 5.1.3): "Not enough tokens for the training loader. Try to lower …".
            return "Not enough tokens for the \(part) loader: the \(part) split has \(tokens) tokens but one window needs \(needed) (context_length + 1). Try to lower the context length (--context-length) or use a longer text."
        case .invalidSetting(let message):
            return message
        case .invalidCheckpoint(let path, let reason):
            return "checkpoint '\(path)': \(reason)"
        case .checkpointMismatch(let path, let config, let report):
            return "checkpoint '\(path)' does not fit the model (vocab_size \(config.vocabSize), context_length \(config.contextLength), emb_dim \(config.embDim), n_heads \(config.nHeads), n_layers \(config.nLayers)); choose the checkpoint's --preset or dimensions.\n\(report)"
        }
    }

    /// ``description``, for `localizedDescription`.
    public var errorDescription: String? { description }
}
