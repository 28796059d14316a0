import EmberCore
import Foundation

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
///   The backward is fused: `(softmax(logits) − one_hot(target)) · grad / count`, with softmax
///   rebuilt from the row log-sum-exps saved by the forward, so `[512, 50257]` logits cost one exp
///   pass forward and one backward, and no `[N, C]` tensor is kept between them. (There is no
///   double backward through it.)
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
    if lossRunsOnDevice(logits) {
        let rows = logits.ndim == 1 ? logits.unsqueeze(0) : logits
        return nllOnDevice(rows.logSoftmax(1), ct, ignoreIndex: ignoreIndex, reduction: reduction)
    }
    if logits.device != .cpu {
        // Spatial targets on an accelerator: computed on the host; the gradient flows back.
        return crossEntropy(logits.to(.cpu), targets.to(.cpu), ignoreIndex: ignoreIndex, reduction: reduction).to(logits.device)
    }
    let x = noGrad { ClassTargets.rowMatrix(logits.to(computeType)) }
    let lse = rowLogSumExp(x)
    let n = ct.rows, c = ct.classes, ignore = Int64(ignoreIndex)
    var perRow = [Double](repeating: 0, count: n)
    var count = 0
    for i in 0..<n where ct.indices[i] != ignore {
        count += 1
        let xt = computeType == .float64 ? x.doublePointer[i * c + Int(ct.indices[i])]
            : Double(x.floatPointer[i * c + Int(ct.indices[i])])
        perRow[i] = lse[i] - xt
    }
    let result = reducedNll(perRow, count: count, ct, reduction: reduction, like: logits)
    let indices = ct.indices
    result.recordGrad(ct.nodeName, [logits], saving: [logits]) { g in
        let w = rowWeights(g, indices: indices, ignore: ignore, count: count, reduction: reduction)
        // softmax = exp(x − lse), then (softmax − one_hot)·w per row, in place.
        let grad: Tensor = noGrad {
            let l = Tensor(array: lse, shape: [n, 1]).to(x.dtype)
            return (x - l).exp().contiguous()
        }
        scatterRowGradients(grad, indices: indices, weights: w, classes: c, scaleRows: true)
        grad.markWrittenInPlace()
        let shaped = ClassTargets.fromRowMatrix(grad, like: logits)
        return [shaped.dtype == logits.dtype ? shaped : shaped.to(logits.dtype)]
    }
    return result
}

/// log Σ_j exp(x[i, j]) of each row of a contiguous `[rows, classes]` float32/float64 matrix:
/// max-shifted, the exponentials by EmberCore's vectorized `exp`, summed in Double (PyTorch's
/// float32 result to within rounding; a float32 running sum over 50257 classes is not).
func rowLogSumExp(_ x: Tensor) -> [Double] {
    let n = x.shape[0], c = x.shape[1]
    var maxima = [Double](repeating: -.infinity, count: n)
    let isDouble = x.dtype == .float64
    maxima.withUnsafeMutableBufferPointer { mb in
        let P = SendablePointers((mb.baseAddress!, isDouble ? nil : x.floatPointer, isDouble ? x.doublePointer : nil))
        parallelChunks(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
            let (m, f, d) = P.value
            for i in r {
                var best = -Double.infinity
                if let f { best = Double(simdRowMax(f + i * c, c)) }
                if let d { for j in 0..<c where d[i * c + j] > best || d[i * c + j].isNaN { best = d[i * c + j] } }
                m[i] = best
            }
        }
    }
    // A row of -inf (or +inf) has no finite shift: exp(x − max) would be NaN; PyTorch gives ±inf/NaN too.
    let shift = maxima.map { $0.isFinite ? $0 : 0 }
    let e = noGrad { (x - Tensor(array: shift, shape: [n, 1]).to(x.dtype)).exp().contiguous() }
    var sums = [Double](repeating: 0, count: n)
    sums.withUnsafeMutableBufferPointer { sb in
        let P = SendablePointers((sb.baseAddress!, isDouble ? nil : e.floatPointer, isDouble ? e.doublePointer : nil))
        parallelChunks(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
            let (s, f, d) = P.value
            for i in r {
                var acc = 0.0
                if let f { acc = simdRowSum(f + i * c, c) }
                if let d { for j in 0..<c { acc += d[i * c + j] } }
                s[i] = acc
            }
        }
    }
    return (0..<n).map { shift[$0] + Foundation.log(sums[$0]) }
}

/// The largest of `n` floats (SIMD; a NaN row still yields NaN later through exp and the sum).
@inline(__always)
private func simdRowMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var v = SIMD16<Float>(repeating: -.infinity)
    var j = 0
    while j + 16 <= n {
        // `replace(with:where:)` compiles to vector compares and blends; `pointwiseMax` does not.
        let a = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD16<Float>.self)
        v.replace(with: a, where: a .> v)
        j += 16
    }
    var m = v.max()
    while j < n { m = Swift.max(m, p[j]); j += 1 }
    return m
}

/// The sum of `n` floats: SIMD float partial sums over blocks of 64, accumulated in Double.
@inline(__always)
private func simdRowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var acc = 0.0
    var j = 0
    while j + 64 <= n {
        var v = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD16<Float>.self)
        v += UnsafeRawPointer(p + j + 16).loadUnaligned(as: SIMD16<Float>.self)
        v += UnsafeRawPointer(p + j + 32).loadUnaligned(as: SIMD16<Float>.self)
        v += UnsafeRawPointer(p + j + 48).loadUnaligned(as: SIMD16<Float>.self)
        acc += Double(v.sum())
        j += 64
    }
    while j < n { acc += Double(p[j]); j += 1 }
    return acc
}

/// The reduced NLL from per-row losses: `.none` keeps them (shape `ct.lossShape`), `.sum` adds,
/// `.mean` divides by the non-ignored count (0/0 = NaN as PyTorch).
private func reducedNll(_ perRow: [Double], count: Int, _ ct: ClassTargets, reduction: Reduction, like input: Tensor) -> Tensor {
    let out: Tensor
    switch reduction {
    case .none: out = Tensor(array: perRow, shape: ct.lossShape).to(input.dtype)
    case .sum: out = scalarTensor(perRow.reduce(0, +), dtype: input.dtype, device: .cpu)
    case .mean: out = scalarTensor(perRow.reduce(0, +) / Double(count), dtype: input.dtype, device: .cpu)
    }
    return input.device == .cpu ? out : out.to(input.device)
}

/// Per-row weight of the incoming gradient: g / count (mean), g (sum) or g[i] (none); 0 if ignored.
private func rowWeights(_ g: Tensor, indices: [Int64], ignore: Int64, count: Int, reduction: Reduction) -> [Double] {
    let gd = g.to(.float64).contiguous().toDoubles()
    var w = [Double](repeating: 0, count: indices.count)
    for i in 0..<indices.count where indices[i] != ignore {
        switch reduction {
        case .none: w[i] = gd[i]
        case .sum: w[i] = gd[0]
        case .mean: w[i] = gd[0] / Double(count)
        }
    }
    return w
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
    if lossRunsOnDevice(input) {
        return nllOnDevice(input.ndim == 1 ? input.unsqueeze(0) : input, ct, ignoreIndex: ignoreIndex, reduction: reduction)
    }
    if input.device != .cpu {
        return nllLoss(input.to(.cpu), targets.to(.cpu), ignoreIndex: ignoreIndex, reduction: reduction).to(input.device)
    }
    let computeType: DType = input.dtype == .float64 ? .float64 : .float32
    let rows = noGrad { ClassTargets.rowMatrix(input.to(computeType)) }
    return nllOfLogProbabilities(rows, ct, ignoreIndex: ignoreIndex, reduction: reduction, input: input)
}

/// The NLL of log-probabilities `logp` (`[rows, classes]`, contiguous float32/float64) with its
/// backward node on `input`: the gradient is `−w[i]` at each row's target, 0 elsewhere.
private func nllOfLogProbabilities(_ logp: Tensor, _ ct: ClassTargets, ignoreIndex: Int, reduction: Reduction,
                                   input: Tensor) -> Tensor {
    let n = ct.rows, c = ct.classes, ignore = Int64(ignoreIndex)
    var perRow = [Double](repeating: 0, count: n)
    var count = 0
    for i in 0..<n where ct.indices[i] != ignore {
        count += 1
        let t = i * c + Int(ct.indices[i])
        perRow[i] = logp.dtype == .float64 ? -logp.doublePointer[t] : -Double(logp.floatPointer[t])
    }
    let result = reducedNll(perRow, count: count, ct, reduction: reduction, like: input)
    let indices = ct.indices
    result.recordGrad(ct.nodeName, [input]) { g in
        let w = rowWeights(g, indices: indices, ignore: ignore, count: count, reduction: reduction)
        let grad = Tensor.zeros([n, c], dtype: logp.dtype)
        scatterRowGradients(grad, indices: indices, weights: w, classes: c, scaleRows: false)
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
