import EmberCore

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

/// PyTorch's printed form of a shape in loss error messages: `torch.Size([2, 3])`.
func torchSize(_ shape: [Int]) -> String {
    "torch.Size([" + shape.map(String.init).joined(separator: ", ") + "])"
}

/// A 0-d tensor of `dtype` holding `value` (a reduced loss).
func scalarTensor(_ value: Double, dtype: DType, device: Device) -> Tensor {
    let t = Tensor(value)
    let typed = dtype == .float32 ? t : t.to(dtype)
    return device == .cpu ? typed : typed.to(device)
}
