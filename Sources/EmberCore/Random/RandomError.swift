/// Errors thrown by the random-number primitives of ``Generator``.
///
/// The messages follow PyTorch's `TORCH_CHECK` texts where one exists, so a user who knows
/// PyTorch recognises them.
public enum RandomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An argument is outside its domain (for example `from > to`, `std < 0`, `low >= high`).
    case invalidArgument(String)
    /// A serialized generator state has the wrong size or inconsistent fields.
    case invalidState(String)

    /// The message, prefixed with the kind of error.
    public var description: String {
        switch self {
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .invalidState(let message): return "invalid generator state: \(message)"
        }
    }
}
