import Foundation

extension Tensor {
    /// The kernel behind `F.cross_entropy` and `F.nll_loss` with class-index targets: the negative
    /// log-likelihood of `targets` under the rows of self, a `[rows, classes]` float32/float64 matrix
    /// of logits (`logSoftmax: true`, log_softmax taken along the classes) or of log-probabilities.
    ///
    /// - Parameters:
    ///   - targets: one class per row, already checked to be in `0..<classes` or `ignoreIndex`;
    ///     ignored rows contribute 0 and are not counted.
    ///   - reduction: `.mean` divides by the number of non-ignored rows (0/0 = NaN, as PyTorch).
    ///   - lossShape: the shape of the unreduced loss (`[rows]`, `[]` or `[N, d1, …]`).
    ///   - dtype: the loss's dtype (the caller's input dtype).
    ///   - nodeName: what the result's `grad_fn` prints (`NllLossBackward0`, `NllLoss2DBackward0`).
    /// - Returns: the loss, `lossShape` for `.none`, else 0-d. Its backward is fused:
    ///   `(softmax(rows) − one_hot(target)) · w` per row (`−one_hot · w` for log-probabilities).
    /// The device's backend computes it in one pass when it can (on the CPU: row log-sum-exps with
    /// vectorized `exp` summed in Double, losses summed in Double); otherwise it is composed of
    /// `log_softmax`, `index_select` and reductions on the device.
    /// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html
    public func classNLLLoss(targets: [Int64], ignoreIndex: Int, reduction: Reduction, logSoftmax: Bool,
                             lossShape: [Int], dtype: DType, nodeName: String) -> Tensor {
        let rows = self
        guard ndim == 2, targets.count == shape[0] else {
            return raiseError("classNLLLoss expects a [rows, classes] matrix and one target per row", shape: [], dtype: dtype)
        }
        if isMeta { return Tensor(metaShape: reduction == .none ? lossShape : [], dtype: dtype) }
        let request = ClassNLLRequest(targets: targets, ignoreIndex: Int64(ignoreIndex), reduction: reduction, logSoftmax: logSoftmax)
        let fused = backend(device)?.classNLL(noGrad { rows.detach() }, request)
        let (loss, backward) = fused ?? composedClassNLL(noGrad { rows.detach() }, request)
        let out = noGrad { (reduction == .none ? loss.reshape(lossShape) : loss).to(dtype) }
        out.recordGrad(nodeName, [rows], saving: logSoftmax ? [rows] : []) { g in
            let grad = noGrad { backward(g.reshape(reduction == .none ? [targets.count] : [])) }
            return [grad.dtype == rows.dtype ? grad : grad.to(rows.dtype)]
        }
        return out
    }
}

/// What ``Tensor/classNLLLoss(targets:ignoreIndex:reduction:logSoftmax:lossShape:dtype:nodeName:)`` asks a backend for.
struct ClassNLLRequest {
    let targets: [Int64]
    let ignoreIndex: Int64
    let reduction: Reduction
    let logSoftmax: Bool
    /// The number of rows whose target is not ignored (the mean's divisor).
    var count: Int { targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) } }
}

/// The loss (`[rows]` for `.none`, else 0-d) and its backward: the loss's gradient (shaped as the
/// loss) to the rows' gradient `[rows, classes]`.
typealias ClassNLLResult = (loss: Tensor, backward: (Tensor) -> Tensor)

/// ``Tensor/classNLLLoss(targets:ignoreIndex:reduction:logSoftmax:lossShape:dtype:nodeName:)``
/// from device ops: each row's target entry picked with `index_select` on the flattened matrix, so
/// nothing but the loss's value travels to the host.
func composedClassNLL(_ rows: Tensor, _ r: ClassNLLRequest) -> ClassNLLResult {
    let n = rows.shape[0], c = rows.shape[1], dev = rows.device
    var picks = [Int64](), valid = [Float]()
    picks.reserveCapacity(n); valid.reserveCapacity(n)
    for t in r.targets {
        let keep = t != r.ignoreIndex
        picks.append(Int64(picks.count * c) + (keep ? t : 0))
        valid.append(keep ? 1 : 0)
    }
    let count = r.count
    let pickIndex = Tensor(array: picks, device: dev)
    let validMask = Tensor(array: valid, device: dev).to(rows.dtype)
    let logp = r.logSoftmax ? rows.logSoftmax(1) : rows
    let perRow = -(logp.reshape([n * c]).indexSelect(0, pickIndex) * validMask)
    let loss: Tensor
    switch r.reduction {
    case .none: loss = perRow
    case .sum: loss = perRow.sum()
    case .mean: loss = perRow.sum() / Double(count)
    }
    let reduction = r.reduction, softmaxRows = r.logSoftmax
    return (loss, { g in
        // w[i]: the incoming gradient of row i's loss (0 for ignored rows).
        var w = reduction == .none ? g : g.expand([n])
        if reduction == .mean { w = w / Double(count) }
        w = w * validMask
        let grad = softmaxRows ? logp.exp() * w.unsqueeze(1) : Tensor.zeros([n, c], dtype: rows.dtype, device: dev)
        grad.reshape([n * c]).indexAdd_(0, pickIndex, -w)
        return grad
    })
}
