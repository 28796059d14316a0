import EmberCore
import Foundation

/// `F.binary_cross_entropy(input, target, reduction='mean')` on probabilities:
/// `−(t·log(x) + (1 − t)·log(1 − x))`, each log clamped at −100 as PyTorch does.
///
/// - Parameters: `input` probabilities in [0, 1] (e.g. a sigmoid output) and `target` of the same
///   shape and dtype.
/// - Returns: the loss in `input`'s dtype; `grad_fn` prints `BinaryCrossEntropyBackward0`; the input
///   gradient is `(x − t) / max((1 − x)·x, 1e-12)` times the incoming gradient (PyTorch's formula).
/// - Errors (PyTorch's): "Using a target size (torch.Size([2])) that is different to the input size
///   (torch.Size([3])) is deprecated. Please ensure they have the same size." (ValueError), "Found
///   dtype Long but expected Float", "all elements of input should be between 0 and 1".
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy.html;
/// book appendix A (case C63, docs/cases.md).
public func binaryCrossEntropy(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    if target.shape != input.shape {
        EmberError(.value, "Using a target size (\(torchSize(target.shape))) that is different to the input size (\(torchSize(input.shape))) is deprecated. Please ensure they have the same size.").raise()
        return Tensor.empty([], dtype: input.dtype, device: .meta)
    }
    if target.dtype != input.dtype {
        EmberError(.runtime, "Found dtype \(target.dtype.scalarTypeName) but expected \(input.dtype.scalarTypeName)").raise()
        return Tensor.empty([], dtype: input.dtype, device: .meta)
    }
    if input.isMeta || target.isMeta { return Tensor.empty(reduction == .none ? input.shape : [], dtype: input.dtype, device: .meta) }
    let x = input.toDoubles(), t = target.toDoubles()
    if x.contains(where: { !($0 >= 0 && $0 <= 1) }) {
        EmberError(.runtime, "all elements of input should be between 0 and 1").raise()
        return Tensor.empty([], dtype: input.dtype, device: .meta)
    }
    // Evaluated in the input's precision, as ATen's kernel: (t − 1)·max(log1p(−x), −100) − t·max(log(x), −100).
    let single = input.dtype != .float64
    let losses: [Double] = zip(x, t).map { xi, ti in
        if single {
            let xf = Float(xi), tf = Float(ti)
            return Double((tf - 1) * Swift.max(Foundation.log1p(-xf), -100) - tf * Swift.max(Foundation.log(xf), -100))
        }
        return (ti - 1) * Swift.max(Foundation.log1p(-xi), -100) - ti * Swift.max(Foundation.log(xi), -100)
    }
    let out = reduceLosses(losses, shape: input.shape, reduction: reduction, like: input)
    out.recordGrad("BinaryCrossEntropyBackward0", [input], saving: [input]) { g in
        noGrad {
            let eps = 1e-12
            let denom = ((1 - input) * input).clamp(min: eps)
            return [(input - target) / denom * expandReducedGradient(g, count: x.count, reduction: reduction)]
        }
    }
    return out
}

/// `F.binary_cross_entropy_with_logits(input, target, reduction='mean')`: BCE of `sigmoid(input)`
/// computed stably as `(1 − t)·x − log_sigmoid(x)`.
///
/// - Returns: the loss; `grad_fn` prints `BinaryCrossEntropyWithLogitsBackward0`; the input gradient
///   is `(sigmoid(x) − t)` times the incoming gradient.
/// - Errors: "Target size (torch.Size([2])) must be the same as input size (torch.Size([3]))"
///   (ValueError).
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.binary_cross_entropy_with_logits.html
public func binaryCrossEntropyWithLogits(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    if target.shape != input.shape {
        EmberError(.value, "Target size (\(torchSize(target.shape))) must be the same as input size (\(torchSize(input.shape)))").raise()
        return Tensor.empty([], dtype: input.dtype, device: .meta)
    }
    if input.isMeta || target.isMeta { return Tensor.empty(reduction == .none ? input.shape : [], dtype: input.dtype, device: .meta) }
    let x = input.toDoubles(), t = target.toDoubles()
    let losses: [Double] = zip(x, t).map { xi, ti in
        let logSigmoid = Swift.min(xi, 0) - Foundation.log1p(Foundation.exp(-Swift.abs(xi)))
        return (1 - ti) * xi - logSigmoid
    }
    let out = reduceLosses(losses, shape: input.shape, reduction: reduction, like: input)
    out.recordGrad("BinaryCrossEntropyWithLogitsBackward0", [input], saving: [input]) { g in
        noGrad { [(input.sigmoid() - target) * expandReducedGradient(g, count: x.count, reduction: reduction)] }
    }
    return out
}

/// Per-element losses (Double) reduced as `reduction` says, in `like`'s dtype and device.
func reduceLosses(_ losses: [Double], shape: [Int], reduction: Reduction, like: Tensor) -> Tensor {
    let out: Tensor
    switch reduction {
    case .none: out = Tensor(array: losses, shape: shape).to(like.dtype)
    case .sum: out = scalarTensor(losses.reduce(0, +), dtype: like.dtype, device: .cpu)
    case .mean: out = scalarTensor(losses.reduce(0, +) / Double(losses.count), dtype: like.dtype, device: .cpu)
    }
    return out.to(like.device)
}

/// The incoming gradient of a reduced loss as a factor per element: g/n (mean), g (sum), g (none).
func expandReducedGradient(_ g: Tensor, count: Int, reduction: Reduction) -> Tensor {
    reduction == .mean ? g / Double(count) : g
}
