/// Why pretrained weights could not be loaded or exported. Every case names the file (and the key)
/// it concerns.
public enum PretrainedError: Error, Equatable, CustomStringConvertible {
    /// No model at this path: neither a directory with weights nor a weights file.
    case notFound(path: String, reason: String)
    /// `config.json` is unreadable, malformed, or its sizes are out of range.
    case invalidConfig(path: String, reason: String)
    /// The checkpoint is of an architecture the book's `GPTModel` does not compute.
    case unsupportedModel(path: String, reason: String)
    /// A weights file could not be read (corrupt, hostile, unsupported dtype).
    case unreadable(path: String, reason: String)
    /// A tensor the model needs is absent from the checkpoint.
    case missingTensor(path: String, key: String)
    /// A tensor has another shape than the config implies.
    case shapeMismatch(path: String, key: String, expected: [Int], got: [Int])
    /// Writing an export failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(path, reason): "no pretrained model at \(path): \(reason)"
        case let .invalidConfig(path, reason): "invalid model config \(path): \(reason)"
        case let .unsupportedModel(path, reason): "unsupported model \(path): \(reason)"
        case let .unreadable(path, reason): "cannot read weights \(path): \(reason)"
        case let .missingTensor(path, key): "\(path) has no tensor '\(key)', which the model needs"
        case let .shapeMismatch(path, key, expected, got):
            "\(path): tensor '\(key)' has shape \(got), but the config implies \(expected)"
        case let .writeFailed(path, reason): "cannot write \(path): \(reason)"
        }
    }
}
