import EmberCore

/// `F.mse_loss(input, target, reduction='mean')`: the squared differences `(input − target)²`, reduced.
///
/// Shapes broadcast as PyTorch's do (PyTorch also warns when they differ); the gradient to each
/// operand is `±2·(input − target)·grad` (divided by the element count for `.mean`), summed back to
/// its shape. `grad_fn` prints `MseLossBackward0`.
/// - Errors: shapes that do not broadcast raise PyTorch's "The size of tensor a (5) must match the
///   size of tensor b (4) at non-singleton dimension 1".
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.mse_loss.html
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    let diff = noGrad { input - target }
    if diff.isMeta { return Tensor.empty(reduction == .none ? diff.shape : [], dtype: diff.dtype, device: .meta) }
    let squared = noGrad { diff * diff }
    let count = squared.numel
    let out: Tensor = noGrad {
        switch reduction {
        case .none: return squared
        case .sum: return squared.sum()
        case .mean: return squared.mean()
        }
    }
    let inShape = input.shape, tShape = target.shape
    out.recordGrad("MseLossBackward0", [input, target], saving: [input, target]) { g in
        noGrad {
            let scale = reduction == .mean ? 2.0 / Double(count) : 2.0
            let gi = diff * g * scale
            return [gi.sumTo(inShape), (-gi).sumTo(tShape)]
        }
    }
    return out
}
