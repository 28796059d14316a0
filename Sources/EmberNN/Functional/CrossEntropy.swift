import EmberCore

/// `F.cross_entropy(input, target, ignore_index=-100, reduction='mean')`: the negative
/// log-likelihood of the target classes under `log_softmax(input, dim=1)`.
///
/// - Parameters:
///   - logits: `[N, C]` scores (the book flattens `[B, T, V]` logits to `[B·T, V]`), `[C]` for one
///     sample, or `[N, C, d1, …]`; floating-point.
///   - targets: class indices, int64 (or uint8), `[N]`, `[]` or `[N, d1, …]`; entries equal to
///     `ignoreIndex` contribute nothing (the book's instruction fine-tuning masks padding with -100).
///     Alternatively class probabilities: a floating tensor of `logits`' shape.
///   - reduction: `.mean` divides by the number of non-ignored targets (NaN when there are none, as
///     PyTorch), `.sum`, or `.none` (shape of `targets`).
/// - Returns: the loss in `logits`' dtype; `grad_fn` prints `NllLossBackward0` (`NllLoss2DBackward0`
///   with spatial dims; `DivBackward1`/`NegBackward0` for probability targets), as PyTorch's does.
///   The backward is fused: `(softmax(logits) − one_hot(target)) · grad / count`, computed by the
///   device's backend (``EmberCore/Tensor/classNLLLoss(targets:ignoreIndex:reduction:logSoftmax:lossShape:dtype:nodeName:)``).
///   (There is no double backward through it.)
/// - Errors (PyTorch's): "Expected input batch_size (3) to match target batch_size (2).",
///   "expected target dtype to be Long or Byte, but got Int", "Target 7 is out of bounds.",
///   "Expected target size [2, 4], got [2, 3]", "0D or 1D target tensor expected, multi-target not
///   supported".
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html;
/// book chapter 5 (`calc_loss_batch`).
public func crossEntropy(_ logits: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                         reduction: Reduction = .mean) -> Tensor {
    if targets.shape == logits.shape && (targets.isFloatingPoint || logits.ndim == 0) {
        return probabilityCrossEntropy(logits, targets, reduction: reduction)
    }
    guard let ct = ClassTargets(input: logits, target: targets, ignoreIndex: ignoreIndex,
                                kernelName: "log_softmax_lastdim_kernel_impl") else {
        return Tensor.empty(reduction == .none ? targets.shape : [], dtype: logits.dtype, device: .meta)
    }
    if logits.isMeta {
        return Tensor.empty(reduction == .none ? ct.lossShape : [], dtype: logits.dtype, device: .meta)
    }
    let computeType: DType = logits.dtype == .float64 ? .float64 : .float32
    return ClassTargets.rowMatrix(logits.to(computeType))
        .classNLLLoss(targets: ct.indices, ignoreIndex: ignoreIndex, reduction: reduction, logSoftmax: true,
                      lossShape: ct.lossShape, dtype: logits.dtype, nodeName: ct.nodeName)
}

/// `F.nll_loss(input, target, ignore_index=-100, reduction='mean')`: `−input[i, target[i]]`,
/// reduced; `input` holds log-probabilities (`[N, C]`, `[C]` or `[N, C, d1, …]`).
/// Errors and shapes as ``crossEntropy(_:_:ignoreIndex:reduction:)``; `grad_fn` prints
/// `NllLossBackward0`. Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.nll_loss.html
public func nllLoss(_ input: Tensor, _ targets: Tensor, ignoreIndex: Int = -100,
                    reduction: Reduction = .mean) -> Tensor {
    guard let ct = ClassTargets(input: input, target: targets, ignoreIndex: ignoreIndex,
                                kernelName: "nll_loss_out_frame") else {
        return Tensor.empty(reduction == .none ? targets.shape : [], dtype: input.dtype, device: .meta)
    }
    if input.isMeta {
        return Tensor.empty(reduction == .none ? ct.lossShape : [], dtype: input.dtype, device: .meta)
    }
    let computeType: DType = input.dtype == .float64 ? .float64 : .float32
    return ClassTargets.rowMatrix(input.to(computeType))
        .classNLLLoss(targets: ct.indices, ignoreIndex: ignoreIndex, reduction: reduction, logSoftmax: false,
                      lossShape: ct.lossShape, dtype: input.dtype, nodeName: ct.nodeName)
}

/// Cross-entropy with class-probability targets: `−Σ_c target · log_softmax(logits)` per sample,
/// reduced (mean divides by the number of samples). Gradient: `softmax · Σ_c target − target`.
private func probabilityCrossEntropy(_ logits: Tensor, _ targets: Tensor, reduction: Reduction) -> Tensor {
    if !targets.isFloatingPoint {
        EmberError(.runtime, "Expected floating point type for target with class probabilities, got \(targets.dtype.scalarTypeName)").raise()
        return Tensor.empty([], dtype: logits.dtype, device: .meta)
    }
    if logits.ndim == 0 {
        EmberError(.value, "Expected 1 or more dimensions (got 0)").raise()
        return Tensor.empty([], dtype: logits.dtype, device: .meta)
    }
    let classDim = logits.ndim == 1 ? 0 : 1
    let samples = logits.numel / Swift.max(logits.shape[classDim], 1)
    let (logp, perSample) = noGrad { () -> (Tensor, Tensor) in
        let lp = logits.logSoftmax(classDim)
        return (lp, -(lp * targets).sum(classDim))
    }
    let out: Tensor = noGrad {
        switch reduction {
        case .none: return perSample
        case .sum: return perSample.sum()
        case .mean: return perSample.sum() / Double(samples)
        }
    }
    let name = reduction == .mean ? "DivBackward1" : "NegBackward0"
    out.recordGrad(name, [logits, targets]) { g in
        noGrad {
            var gs = g
            if reduction == .mean { gs = g / Double(samples) }
            if reduction == .none { gs = g.unsqueeze(classDim) }
            let soft = logp.exp()
            let total = targets.sum(classDim, keepdim: true)
            return [(soft * total - targets) * gs, -(logp * gs)]
        }
    }
    return out
}
