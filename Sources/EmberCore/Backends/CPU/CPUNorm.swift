import Foundation

/// The CPU backend's `linalg.vector_norm`: accumulated in the tensor's own precision in ATen's
/// order, so float32 norms equal PyTorch's (its CPU build as of 2.13 with AVX-512, the capability
/// the repository's fixtures were made with: 16 float32 or 8 float64 lanes).
/// Source: aten/src/ATen/native/cpu/ReduceOpsKernel.cpp (`norm_kernel_tensor_iterator_impl`:
/// the vectorised last-dim path for ord 2, `NormOneOps`/`NormOps`/`AbsMaxOps`/`AbsMinOps`/
/// `NormZeroOps` folded left to right otherwise).
extension CPUBackend {
    func vectorNorm(_ x: Tensor, ord: Double, into out: Tensor) {
        let c = x.rawContiguous()
        if x.dtype == .float64 {
            let v = cpuVectorNorm(UnsafeBufferPointer(start: c.pointer(Double.self), count: c.numel), ord, lanes: 8)
            out.pointer(Double.self).pointee = v
            return
        }
        let f = c.rawCast(.float32).rawContiguous()
        let v = cpuVectorNorm(UnsafeBufferPointer(start: f.pointer(Float.self), count: f.numel), ord, lanes: 16)
        cpuCopy(from: Tensor(array: [v], shape: []), to: out)
    }
}

/// The `ord`-norm of `x` accumulated in `F`, as ATen's CPU kernels order it (see ``CPUBackend/vectorNorm(_:ord:into:)``).
private func cpuVectorNorm<F: BinaryFloatingPoint & TensorScalar>(_ x: UnsafeBufferPointer<F>, _ ord: Double, lanes: Int) -> F {
    let n = x.count
    switch ord {
    case 2:
        // `acc_vec += data_vec * data_vec` over whole vectors, the lanes summed in turn, then
        // `buffer[0] += x·x` for the tail; sqrt in F.
        var acc = [F](repeating: 0, count: lanes)
        let whole = n - n % lanes
        var d = 0
        while d < whole {
            for l in 0..<lanes { let v = x[d + l]; acc[l] = acc[l] + v * v }
            d += lanes
        }
        var total = acc[0]
        for l in 1..<lanes { total = total + acc[l] }
        while d < n { let v = x[d]; total += v * v; d += 1 }
        return total.squareRoot()
    case 1:
        var acc: F = 0
        for v in x { acc += Swift.abs(v) }
        return acc
    case .infinity:
        var acc: F = 0
        for v in x { let a = Swift.abs(v); if a > acc || a.isNaN { acc = a } }
        return acc
    case -.infinity:
        var acc = F.infinity
        for v in x { let a = Swift.abs(v); if a < acc || a.isNaN { acc = a } }
        return acc
    case 0:
        var acc: F = 0
        for v in x where v != 0 { acc += 1 }
        return acc
    default:
        var acc: F = 0
        if F.self == Float.self {
            let p = Float(ord)
            for v in x { acc += F(Foundation.powf(Float(Swift.abs(v)), p)) }
            return F(Foundation.powf(Float(acc), 1 / p))
        }
        for v in x { acc += F(Foundation.pow(Double(Swift.abs(v)), ord)) }
        return F(Foundation.pow(Double(acc), 1 / ord))
    }
}
