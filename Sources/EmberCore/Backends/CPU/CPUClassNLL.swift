import Foundation

/// The CPU backend's class-index NLL (cross-entropy): row log-sum-exps with the vectorized `exp`,
/// summed in Double (PyTorch's float32 result to within rounding; a float32 running sum over
/// 50257 classes is not), per-row losses and their reduction in Double. The backward rebuilds
/// softmax from the saved log-sum-exps, so `[512, 50257]` logits cost one exp pass forward and one
/// backward, and no `[N, C]` tensor is kept between them.
extension CPUBackend {
    func classNLL(_ rows: Tensor, _ r: ClassNLLRequest) -> ClassNLLResult? {
        guard rows.dtype == .float32 || rows.dtype == .float64 else { return nil }
        let x = rows.contiguous()
        let n = x.shape[0], c = x.shape[1], isDouble = x.dtype == .float64
        let lse = r.logSoftmax ? rowLogSumExp(x) : []
        var perRow = [Double](repeating: 0, count: n)
        var count = 0
        for i in 0..<n where r.targets[i] != r.ignoreIndex {
            count += 1
            let t = i * c + Int(r.targets[i])
            let xt = isDouble ? x.pointer(Double.self)[t] : Double(x.pointer(Float.self)[t])
            perRow[i] = r.logSoftmax ? lse[i] - xt : -xt
        }
        // Unreduced losses stay in Double until the caller's dtype; a reduced one rounds to the
        // computation's dtype first (float32 for half inputs), as before the seam.
        let loss: Tensor
        switch r.reduction {
        case .none: loss = Tensor(array: perRow, shape: [n])
        case .sum: loss = Tensor(array: [perRow.reduce(0, +)], shape: []).to(x.dtype)
        case .mean: loss = Tensor(array: [perRow.reduce(0, +) / Double(count)], shape: []).to(x.dtype)
        }
        let targets = r.targets, ignore = r.ignoreIndex, reduction = r.reduction, logSoftmax = r.logSoftmax
        return (loss, { g in
            let w = rowWeights(g, targets: targets, ignore: ignore, count: count, reduction: reduction)
            let grad: Tensor
            if logSoftmax {
                // softmax = exp(x − lse), then (softmax − one_hot)·w per row, in place.
                let l = Tensor(array: lse, shape: [n, 1]).to(x.dtype)
                grad = (x - l).exp().contiguous()
            } else {
                grad = Tensor.zeros([n, c], dtype: x.dtype)
            }
            scatterRowGradients(grad, targets: targets, weights: w, classes: c, scaleRows: logSoftmax)
            grad.storage.bumpVersion()
            return grad
        })
    }
}

/// Per-row weight of the incoming gradient: g / count (mean), g (sum) or g[i] (none); 0 if ignored.
private func rowWeights(_ g: Tensor, targets: [Int64], ignore: Int64, count: Int, reduction: Reduction) -> [Double] {
    let gd = g.to(.float64).contiguous().toDoubles()
    var w = [Double](repeating: 0, count: targets.count)
    for i in 0..<targets.count where targets[i] != ignore {
        switch reduction {
        case .none: w[i] = gd[i]
        case .sum: w[i] = gd[0]
        case .mean: w[i] = gd[0] / Double(count)
        }
    }
    return w
}

/// In place on a contiguous `[rows, classes]` gradient: with `scaleRows`, row i = row i · w[i]
/// (softmax·w); then entry (i, target[i]) −= w[i]. Ignored rows have w = 0.
private func scatterRowGradients(_ grad: Tensor, targets: [Int64], weights: [Double], classes c: Int, scaleRows: Bool) {
    let n = targets.count
    if grad.dtype == .float64 {
        let p = grad.pointer(Double.self)
        for i in 0..<n {
            if scaleRows { let wi = weights[i]; for j in 0..<c { p[i * c + j] *= wi } }
            if weights[i] != 0 { p[i * c + Int(targets[i])] -= weights[i] }
        }
        return
    }
    let P = UncheckedSendable(grad.pointer(Float.self))
    targets.withUnsafeBufferPointer { idx in
        weights.withUnsafeBufferPointer { ws in
            let I = UncheckedSendable((idx, ws))
            parallelFor(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
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

/// log Σ_j exp(x[i, j]) of each row of a contiguous `[rows, classes]` float32/float64 matrix:
/// max-shifted, the exponentials by the vectorized `exp`, summed in Double.
private func rowLogSumExp(_ x: Tensor) -> [Double] {
    let n = x.shape[0], c = x.shape[1]
    var maxima = [Double](repeating: -.infinity, count: n)
    let isDouble = x.dtype == .float64
    maxima.withUnsafeMutableBufferPointer { mb in
        let P = UncheckedSendable((mb.baseAddress!, isDouble ? nil : x.pointer(Float.self), isDouble ? x.pointer(Double.self) : nil))
        parallelFor(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
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
    let e = (x - Tensor(array: shift, shape: [n, 1]).to(x.dtype)).exp().contiguous()
    var sums = [Double](repeating: 0, count: n)
    sums.withUnsafeMutableBufferPointer { sb in
        let P = UncheckedSendable((sb.baseAddress!, isDouble ? nil : e.pointer(Float.self), isDouble ? e.pointer(Double.self) : nil))
        parallelFor(n, grain: Swift.max(1, (1 << 15) / Swift.max(c, 1))) { r in
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
