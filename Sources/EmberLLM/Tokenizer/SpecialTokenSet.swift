/// Which special tokens an `encode` call allows or checks for — tiktoken's
/// `allowed_special` / `disallowed_special` arguments (`"all"` or a set of token strings).
///
/// Write `.all`, `[]` (none) or `["<|endoftext|>"]`.
public enum SpecialTokenSet: Sendable, Hashable, ExpressibleByArrayLiteral {
    /// Every special token of the encoding.
    case all
    /// Exactly these token strings.
    case only(Set<String>)

    /// No token (`[]`; tiktoken's `set()` / `()`).
    public static let none = SpecialTokenSet.only([])

    public init(arrayLiteral elements: String...) {
        self = .only(Set(elements))
    }

    /// The tokens this set names, given the encoding's special tokens.
    func resolve(in specials: Set<String>) -> Set<String> {
        switch self {
        case .all: return specials
        case .only(let tokens): return tokens
        }
    }
}
