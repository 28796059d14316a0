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
///   The backward is fused: `(softmax(logits) − one_hot(target)) · grad / count`, from the
///   log-probabilities saved by the forward, so `[512, 50257]` logits cost one log-softmax pass
///   forward and one exp pass backward. (There is no double backward through it.)
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
    let computeType: DType = logits.dtype == .float64 ? .float64 : .float32
    if logits.isMeta {
        return Tensor.empty(reduction == .none ? ct.lossShape : [], dtype: logits.dtype, device: .meta)
    }
    let logp = noGrad { ClassTargets.rowMatrix(logits.to(computeType)).logSoftmax(1).contiguous() }
    return nllFromLogProbabilities(logp, ct, ignoreIndex: ignoreIndex, reduction: reduction,
                                   input: logits, softmaxBackward: true)
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
    let rows = noGrad { ClassTargets.rowMatrix(input.to(computeType)) }
    return nllFromLogProbabilities(rows, ct, ignoreIndex: ignoreIndex, reduction: reduction,
                                   input: input, softmaxBackward: false)
}

/// The NLL of `logp` (`[rows, classes]`, contiguous float32/float64) and its backward node on
/// `input`. With `softmaxBackward` the gradient is taken through the log-softmax that produced
/// `logp` (cross-entropy); otherwise with respect to `logp` itself (nll_loss).
private func nllFromLogProbabilities(_ logp: Tensor, _ ct: ClassTargets, ignoreIndex: Int, reduction: Reduction,
                                     input: Tensor, softmaxBackward: Bool) -> Tensor {
    let n = ct.rows, c = ct.classes
    let ignore = Int64(ignoreIndex)
    var perRow = [Double](repeating: 0, count: n)
    var count = 0
    let isDouble = logp.dtype == .float64
    for i in 0..<n {
        let t = ct.indices[i]
        if t == ignore { continue }
        count += 1
        perRow[i] = isDouble ? -logp.doublePointer[i * c + Int(t)] : -Double(logp.floatPointer[i * c + Int(t)])
    }
    let out: Tensor
    switch reduction {
    case .none:
        let values = Tensor(array: perRow, shape: ct.lossShape)
        out = values.to(input.dtype)
    case .sum:
        out = scalarTensor(perRow.reduce(0, +), dtype: input.dtype, device: .cpu)
    case .mean:
        // Mean over the non-ignored targets; 0/0 gives NaN as in PyTorch.
        out = scalarTensor(perRow.reduce(0, +) / Double(count), dtype: input.dtype, device: .cpu)
    }
    let result = input.device == .cpu ? out : out.to(input.device)
    let indices = ct.indices
    result.recordGrad(ct.nodeName, [input], saving: softmaxBackward ? [] : [input]) { g in
        // Per-row weight of the incoming gradient: g / count (mean), g (sum) or g[i] (none).
        let gd = g.to(.float64).contiguous().toDoubles()
        var w = [Double](repeating: 0, count: n)
        for i in 0..<n where indices[i] != ignore {
            switch reduction {
            case .none: w[i] = gd[i]
            case .sum: w[i] = gd[0]
            case .mean: w[i] = gd[0] / Double(count)
            }
        }
        let grad: Tensor = noGrad {
            softmaxBackward ? logp.exp().contiguous() : Tensor.zeros([n, c], dtype: logp.dtype)
        }
        scatterRowGradients(grad, indices: indices, weights: w, classes: c, scaleRows: softmaxBackward)
        grad.markWrittenInPlace()
        let shaped = ClassTargets.fromRowMatrix(grad, like: input)
        return [shaped.dtype == input.dtype ? shaped : shaped.to(input.dtype)]
    }
    return result
}

/// In place on a `[rows, classes]` gradient: with `scaleRows`, row i = row i · w[i] (softmax·w);
/// then entry (i, target[i]) −= w[i]. Ignored rows have w = 0.
private func scatterRowGradients(_ grad: Tensor, indices: [Int64], weights: [Double], classes c: Int, scaleRows: Bool) {
    let n = indices.count
    if grad.dtype == .float64 {
        let p = grad.doublePointer
        for i in 0..<n {
            if scaleRows { let wi = weights[i]; for j in 0..<c { p[i * c + j] *= wi } }
            if weights[i] != 0 { p[i * c + Int(indices[i])] -= weights[i] }
        }
        return
    }
    let P = SendablePointers(grad.floatPointer)
    indices.withUnsafeBufferPointer { idx in
        weights.withUnsafeBufferPointer { ws in
            let I = SendablePointers((idx, ws))
            parallelChunks(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
                let p = P.value
                let (idx, ws) = I.value
                for i in r {
                    let row = p + i * c
                    let wi = Float(ws[i])
                    if scaleRows { for j in 0..<c { row[j] *= wi } }
                    if ws[i] != 0 { row[Int(idx[i])] -= wi }
                }
            }
        }
    }
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
