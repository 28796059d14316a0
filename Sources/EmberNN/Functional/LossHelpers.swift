import EmberCore

/// PyTorch's printed form of a shape in loss error messages: `torch.Size([2, 3])`.
func torchSize(_ shape: [Int]) -> String {
    "torch.Size([" + shape.map(String.init).joined(separator: ", ") + "])"
}

/// A 0-d tensor of `dtype` holding `value` (a reduced loss) on `device`.
func scalarTensor(_ value: Double, dtype: DType, device: Device) -> Tensor {
    let t = Tensor(value)
    let typed = dtype == .float32 ? t : t.to(dtype)
    return typed.to(device)
}
