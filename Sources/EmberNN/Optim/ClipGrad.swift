import EmberCore

/// `torch.nn.utils.clip_grad_norm_`: scales the gradients of `params` in place so that their
/// total norm is at most `maxNorm`, and returns the total norm from before clipping.
///
/// As PyTorch computes it: each gradient's `linalg.vector_norm(g, normType)` in the gradient's
/// dtype (``EmberCore/Tensor/vectorNorm(_:)``, float32 in ATen's order), those norms stacked and
/// the norm of that (`.infinity` gives the largest absolute value); then
/// `clip_coef = max_norm / (total_norm + 1e-6)` clamped to 1.0, in the norm's dtype
/// (`reciprocal(total + 1e-6) · max_norm`, as Python's `float / tensor`), and every gradient
/// multiplied by it, even when it is 1. Parameters without a gradient are skipped; with none at
/// all the result is `tensor(0.)`. Used by the book's appendix D training loop with `maxNorm: 1`.
///
/// - Returns: a 0-d tensor of the first gradient's floating dtype (float32 for float32 gradients).
/// - Errors: with `errorIfNonfinite`, a NaN/inf total norm raises PyTorch's RuntimeError
///   ("The total norm of order 2.0 for gradients from `parameters` is non-finite, ...").
/// Source: torch/nn/utils/clip_grad.py `_get_total_norm`, `_clip_grads_with_norm_` (PyTorch 2.13).
@discardableResult
public func clipGradNorm(_ params: [Tensor], maxNorm: Double, normType: Double = 2,
                         errorIfNonfinite: Bool = false) -> Tensor {
    let grads = params.compactMap { $0.grad }
    guard let first = grads.first else { return Tensor(0.0) }
    let totalTensor: Tensor = noGrad {
        let norms = grads.map { $0.vectorNorm(normType).to(first.device) }
        return Tensor.stack(norms, dim: 0).vectorNorm(normType)
    }
    let total = totalTensor.item()
    if errorIfNonfinite && !total.isFinite {
        EmberError(.runtime, "The total norm of order \(normType) for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`").raise()
        return totalTensor
    }
    let coef: Double
    if totalTensor.dtype == .float64 {
        coef = Swift.min(maxNorm * (1 / (total + 1e-6)), 1)
    } else {
        // float32 as PyTorch: clip_coef = max_norm / (total_norm + 1e-6) is `reciprocal(t) * max_norm`.
        coef = Double(Swift.min(Float(maxNorm) * (1 / (Float(total) + Float(1e-6))), 1))
    }
    noGrad {
        for g in grads { g.mul_(coef) }
    }
    return totalTensor
}
