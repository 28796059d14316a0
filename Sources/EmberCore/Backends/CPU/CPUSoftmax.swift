import Foundation
#if canImport(CEmberKernels)
import CEmberKernels
#endif

/// The CPU backend's softmax rows: the C kernel when available, SIMD exp otherwise.

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

/// Softmax (or log-softmax) of float32 `x` along `d` into float32 `out` (x's shape): rows along
/// `d` are made contiguous, computed in parallel, and written straight into `out` when it is
/// already in row order.
func cpuSoftmax(_ x: Tensor, dim d: Int, log: Bool, into out: Tensor) {
    let rowOp = log ? logSoftmaxRow : softmaxRow
    let last = x.ndim == 0 ? 0 : x.ndim - 1
    let moved = (d == last || x.ndim == 0) ? x : x.rawTranspose(d, last)
    let src = moved.rawContiguous()
    let len = x.ndim == 0 ? 1 : x.shape[d]
    let rows = x.numel / Swift.max(len, 1)
    let direct = moved === x && out.isContiguous
    let res = direct ? out : Tensor(shape: src.shape, dtype: .float32, device: .cpu, zeroed: false)
    let P = UncheckedSendable((src.pointer(Float.self), res.pointer(Float.self)))
    parallelFor(rows, grain: Swift.max(1, 32768 / Swift.max(len, 1))) { r in
        let (xp, rp) = P.value
        for row in r { rowOp(xp + row * len, rp + row * len, len) }
    }
    if !direct { cpuCopy(from: moved === x ? res : res.rawTranspose(d, last), to: out) }
}
