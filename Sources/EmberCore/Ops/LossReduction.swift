/// How a loss reduces its per-element values (PyTorch's `reduction=` argument).
/// Source: https://pytorch.org/docs/stable/nn.functional.html#loss-functions
public enum Reduction: String, Sendable, CaseIterable {
    /// The per-element losses, unreduced (`'none'`).
    case none
    /// Their mean (`'mean'`, the default); cross-entropy divides by the number of non-ignored targets.
    case mean
    /// Their sum (`'sum'`).
    case sum
}
