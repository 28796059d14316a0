/// softmax and log_softmax over any dimension (`torch.softmax`, `torch.log_softmax`).
/// Rows are computed with SIMD exp, max-subtracted for stability.

extension Tensor {
    /// Runs `rowOp` over rows along `dim` of a float32/float64 tensor and returns the result in
    /// self's layout.
    func rowwise(_ dim: Int, _ rowOp: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor? {
        guard let d = checkedDim(dim) else { return nil }
        let last = ndim == 0 ? 0 : ndim - 1
        let moved = (d == last || ndim == 0) ? self : self.rawTranspose(d, last)
        let x = moved.rawCast(.float32).isContiguous ? moved.rawCast(.float32) : {
            let c = Tensor(shape: moved.shape, dtype: .float32, device: .cpu, zeroed: false)
            cpuCopy(from: moved, to: c); return c
        }()
        let len = ndim == 0 ? 1 : shape[d]
        let rows = numel / Swift.max(len, 1)
        let res = Tensor(shape: x.shape, dtype: .float32, device: .cpu, zeroed: false)
        let P = UncheckedSendable((x.pointer(Float.self), res.pointer(Float.self)))
        withoutActuallyEscaping(rowOp) { rowOp in
            let R = UncheckedSendable(rowOp)
            parallelFor(rows, grain: Swift.max(1, 32768 / Swift.max(len, 1))) { r in
                let (xp, rp) = P.value
                for row in r { R.value(xp + row * len, rp + row * len, len) }
            }
        }
        var out = res
        if d != last && ndim > 0 { out = res.rawTranspose(d, last) }
        if dtype != .float32 || !out.isContiguous {
            let o = Tensor(shape: shape, dtype: dtype == .float32 ? .float32 : dtype, device: .cpu, zeroed: false)
            cpuCopy(from: out, to: o)
            out = o
        }
        return out
    }

    /// Softmax / log-softmax of a float64 tensor computed in float64 (the float32 row kernels would
    /// round it; PyTorch keeps double precision). A row of all `-inf` gives NaN, as in PyTorch.
    func float64Rowwise(_ dim: Int, log: Bool) -> Tensor? {
        guard let d = checkedDim(dim) else { return nil }
        return noGrad {
            let shifted = self - self.max(d, keepdim: true).values
            let sum = shifted.exp().sum(d, keepdim: true)
            return log ? shifted - sum.log() : shifted.exp() / sum
        }
    }

    func rawTranspose(_ a: Int, _ b: Int) -> Tensor {
        var sh = shape, st = strides
        sh.swapAt(a, b); st.swapAt(a, b)
        return Tensor(storage: storage, shape: sh, strides: st, storageOffset: storageOffset, dtype: dtype)
    }

    /// `softmax(dim)`: exp(x − max) / Σ exp(x − max) along `dim`. Floating dtypes only.
    public func softmax(_ dim: Int) -> Tensor {
        let dt = dtype.isFloatingPoint ? dtype : DefaultDType.floating
        if isMeta { return Tensor(metaShape: shape, dtype: dt) }
        guard let out = dt == .float64 ? float64Rowwise(dim, log: false) : (dtype == dt ? self : to(dt)).rowwise(dim, softmaxRow)
        else { return Tensor(metaShape: shape, dtype: dt) }
        if Tensor.needsGrad([self]) {
            let d = dim
            let y = out.detach()   // PyTorch saves the result: version-checked, no cycle
            out.recordGrad("SoftmaxBackward0", [self], savingOutput: true) { g in
                return [y * (g - (g * y).sum(d, keepdim: true))]
            }
        }
        return out
    }

    /// `log_softmax(dim)`: x − max − log Σ exp(x − max).
    public func logSoftmax(_ dim: Int) -> Tensor {
        let dt = dtype.isFloatingPoint ? dtype : DefaultDType.floating
        if isMeta { return Tensor(metaShape: shape, dtype: dt) }
        guard let out = dt == .float64 ? float64Rowwise(dim, log: true) : (dtype == dt ? self : to(dt)).rowwise(dim, logSoftmaxRow)
        else { return Tensor(metaShape: shape, dtype: dt) }
        if Tensor.needsGrad([self]) {
            let d = dim
            let y = out.detach()   // PyTorch saves the result: version-checked, no cycle
            out.recordGrad("LogSoftmaxBackward0", [self], savingOutput: true) { g in
                return [g - y.exp() * g.sum(d, keepdim: true)]
            }
        }
        return out
    }
}

/// Free-function spellings used by the book's code (`torch.softmax(x, dim=-1)`).
public func softmax(_ x: Tensor, dim: Int) -> Tensor { x.softmax(dim) }
public func logSoftmax(_ x: Tensor, dim: Int) -> Tensor { x.logSoftmax(dim) }

@inline(__always)
func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    if n >= 16 {
        var v = SIMD16<Float>(repeating: -.infinity)
        while i + 16 <= n {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            v.replace(with: a, where: a .> v)
            i += 16
        }
        for k in 0..<16 where v[k] > m { m = v[k] }
    }
    while i < n { if x[i] > m { m = x[i] }; i += 1 }
    return m
}

func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    #if canImport(CEmberKernels)
    // The C kernel's exp returns exactly 0 below -87.34, so masked (-inf) entries are 0 and an
    // all -inf row is NaN, as PyTorch.
    ember_softmax_row_f32(x, y, n)
    #else
    let m = rowMax(x, n)
    if m == -.infinity { for i in 0..<n { y[i] = .nan }; return }
    var sum = SIMD16<Float>(repeating: 0)
    var i = 0
    let mv = SIMD16<Float>(repeating: m)
    while i + 16 <= n {
        let e = vexp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - mv)
        UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: SIMD16<Float>.self)
        sum += e
        i += 16
    }
    var total = Double(sum.sum())
    if i < n {
        var t = SIMD16<Float>(repeating: -.infinity)
        for j in 0..<(n - i) { t[j] = x[i + j] - m }
        let e = vexp(t)
        for j in 0..<(n - i) { y[i + j] = e[j]; total += Double(e[j]) }
    }
    let inv = Float(1 / total)
    for j in 0..<n { y[j] *= inv }
    #endif
}


func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    #if canImport(CEmberKernels)
    ember_log_softmax_row_f32(x, y, n)
    #else
    let m = rowMax(x, n)
    var sum = SIMD16<Float>(repeating: 0)
    var i = 0
    let mv = SIMD16<Float>(repeating: m)
    while i + 16 <= n {
        sum += vexp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - mv)
        i += 16
    }
    var total = Double(sum.sum())
    while i < n { total += Double(vexp(SIMD16<Float>(repeating: x[i] - m))[0]); i += 1 }
    let lse = m + Float(Foundation.log(total))
    for j in 0..<n { y[j] = x[j] - lse }
    #endif
}

import Foundation
#if canImport(CEmberKernels)
import CEmberKernels
#endif
