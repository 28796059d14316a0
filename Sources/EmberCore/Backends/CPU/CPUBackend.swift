import Foundation
#if canImport(CEmberKernels)
import CEmberKernels
#endif

/// The CPU device's ``Backend``: host memory from ``CachingAllocator`` (``Storage`` allocates it
/// directly), kernels that split work over both cores and use vector instructions, GEMM through
/// OpenBLAS (``CPUGEMM``). The kernels themselves live beside this file, one family per file.
final class CPUBackend: Backend {
    static let shared = CPUBackend()

    // MARK: Memory (host memory: plain copies)

    func allocate(byteCount: Int, zeroed: Bool, device: Device) -> AnyObject? { nil }

    func upload(_ bytes: UnsafeRawPointer, byteCount: Int, to storage: Storage, byteOffset: Int) {
        guard byteCount > 0, let d = storage.data else { return }
        (d + byteOffset).copyMemory(from: bytes, byteCount: byteCount)
    }

    func download(_ storage: Storage, byteOffset: Int, byteCount: Int, into bytes: UnsafeMutableRawPointer) {
        guard byteCount > 0, let s = storage.data else { return }
        bytes.copyMemory(from: s + byteOffset, byteCount: byteCount)
    }

    // MARK: Kernels

    func copy(from src: Tensor, to dst: Tensor) { cpuCopy(from: src, to: dst) }

    func fill(_ t: Tensor, with value: Double) {
        struct V: DTypeVisitor {
            let t: Tensor, value: Double
            func visit<T: TensorScalar>(_: T.Type) {
                let v: T = (T.dtype.isFloatingPoint || value != value.rounded(.towardZero))
                    ? convertScalar(value, to: T.self) : T(fromInt64: truncatingToInt64(value))
                let p = t.pointer(T.self)
                if t.isContiguous {
                    let ps = UncheckedSendable(p)
                    parallelFor(t.numel, grain: 1 << 17) { r in
                        (ps.value + r.lowerBound).initialize(repeating: v, count: r.count)
                    }
                    return
                }
                let layout = CollapsedLayout(shape: t.shape, strides: [t.strides])
                let inner = layout.shape.last!, s = layout.strides[0].last!
                forEachRun(layout) { _, off in
                    for i in 0..<inner { p[off[0] + i * s] = v }
                }
            }
        }
        if t.numel > 0 { visitDType(t.dtype, V(t: t, value: value)) }
    }

    func unary(_ op: UnaryOp, _ x: Tensor, into out: Tensor) {
        // Integer inputs to floating functions compute in the result's type; logical ops in bool.
        let kt: DType = op == .logicalNot ? .bool : kernelType(out.dtype)
        let src = x.rawCast(op == .logicalNot ? .bool : out.dtype).rawCast(kt)
        let target = out.dtype == kt ? out : Tensor(shape: x.shape, dtype: kt, device: .cpu, zeroed: false)
        switch kt {
        case .float32: floatUnary(op, src, target)
        case .float64: doubleUnary(op, src, target)
        case .int64: intUnary(op, src, target)
        default: unaryLoop(src, target) { (v: Bool) -> Bool in op == .logicalNot || op == .bitwiseNot ? !v : v }
        }
        if target !== out { cpuCopy(from: target, to: out) }
    }

    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, computeType: DType, into out: Tensor) {
        cpuBinary(op, a, b, computeType, out)
    }

    func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        struct V: DTypeVisitor {
            let c: Tensor, x: Tensor, y: Tensor, o: Tensor
            func visit<T: TensorScalar>(_: T.Type) { ternaryLoop(c, x, y, o) { (c: Bool, x: T, y: T) in c ? x : y } }
        }
        visitDType(out.dtype, V(c: condition, x: a, y: b, o: out))
    }

    func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], into out: Tensor) {
        x.cpuReduce(op, dims, into: out)
    }

    func extremum(_ x: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor) {
        cpuExtremum(x, dim: dim, largest: largest, values: values, indices: indices)
    }

    func softmax(_ x: Tensor, dim d: Int, log: Bool, into out: Tensor) {
        cpuSoftmax(x, dim: d, log: log, into: out)
    }

    func matmul(_ a: Tensor, _ b: Tensor, into out: Tensor) { batchedGEMM(a, b, out) }

    func indexSelect(_ x: Tensor, dim d: Int, index: Tensor, values idx: [Int], into out: Tensor) {
        if x.ndim == 0 { cpuCopy(from: x, to: out); return }
        if d == 0 && x.isContiguous {
            // Whole rows (embedding lookups): one memcpy each.
            let rowBytes = (x.numel / Swift.max(x.shape[0], 1)) * x.dtype.itemSize
            let src = x.storage.data! + x.storageOffset * x.dtype.itemSize, dst = out.storage.data! + out.storageOffset * out.dtype.itemSize
            for (j, i) in idx.enumerated() where rowBytes > 0 {
                (dst + j * rowBytes).copyMemory(from: src + i * rowBytes, byteCount: rowBytes)
            }
            return
        }
        let keep = (0..<x.ndim).filter { $0 != d }
        for (j, i) in idx.enumerated() {
            let s = Tensor(storage: x.storage, shape: keep.map { x.shape[$0] }, strides: keep.map { x.strides[$0] },
                           storageOffset: x.storageOffset + i * x.strides[d], dtype: x.dtype)
            let o = Tensor(storage: out.storage, shape: s.shape, strides: keep.map { out.strides[$0] },
                           storageOffset: out.storageOffset + j * out.strides[d], dtype: out.dtype)
            cpuCopy(from: s, to: o)
        }
    }

    // MARK: Fast paths

    func addInPlace(_ y: Tensor, _ x: Tensor, alpha: Double) -> Bool {
        guard y.dtype == .float32, y.isContiguous else { return false }
        if x.dtype == .float32, x.isContiguous, x.shape == y.shape {
            // Gradient accumulation and optimizers.
            axpy(Float(alpha), x.pointer(Float.self), y.pointer(Float.self), y.numel)
            return true
        }
        if alpha == 1, case .success(let s) = broadcastShapes(y.shape, x.shape), s == y.shape {
            // A Linear layer's bias, broadcast in place: no temporary result.
            staticBinaryLoop(AddF<Float>.self, y, x.rawCast(.float32).rawExpand(y.shape), y)
            return true
        }
        return false
    }

    func scaleInPlace(_ x: Tensor, by value: Double) -> Bool {
        guard x.dtype == .float32, x.isContiguous else { return false }
        scale(Float(value), x.pointer(Float.self), x.numel)
        return true
    }

    func maskedFillInPlace(_ t: Tensor, mask m: Tensor, value: Double) -> Bool {
        guard t.dtype == .float32, t.isContiguous else { return false }
        // Attention's causal mask: write straight into t, no temporaries.
        let layout = CollapsedLayout(shape: t.shape, strides: [t.strides, m.strides])
        let inner = layout.shape.last!, os = layout.strides[0].last!, ms = layout.strides[1].last!
        let op = t.pointer(Float.self), mp = m.pointer(Bool.self)
        let v = Float(value)
        forEachRun(layout) { _, off in
            let o = op + off[0], k = mp + off[1]
            for i in 0..<inner where k[i * ms] { o[i * os] = v }
        }
        return true
    }

    func indexAddRows(_ t: Tensor, index: Tensor, values idx: [Int], source: Tensor) -> Bool {
        guard t.dtype == .float32, t.isContiguous else { return false }
        let s = source.rawCast(.float32).contiguous()
        let row = t.numel / Swift.max(t.shape[0], 1)
        let op = t.pointer(Float.self), sp = s.pointer(Float.self)
        for (j, i) in idx.enumerated() {
            let o = op + i * row, x = sp + j * row
            for k in 0..<row { o[k] += x[k] }
        }
        return true
    }

    func geluTanhBackward(_ x: Tensor, _ g: Tensor) -> Tensor? {
        #if canImport(CEmberKernels)
        guard x.dtype == .float32, g.dtype == .float32, x.isContiguous, g.isContiguous, g.shape == x.shape else { return nil }
        // Fused kernel: one pass instead of ten temporaries.
        let out = Tensor(shape: x.shape, dtype: .float32, device: .cpu, zeroed: false)
        let P = UncheckedSendable((UnsafePointer(x.pointer(Float.self)), UnsafePointer(g.pointer(Float.self)), out.pointer(Float.self)))
        parallelFor(out.numel, grain: 1 << 15) { r in
            let (xp, gp, op) = P.value
            ember_gelu_tanh_backward_f32(xp + r.lowerBound, gp + r.lowerBound, op + r.lowerBound, r.count)
        }
        return out
        #else
        return nil
        #endif
    }
}

/// y += a·x on contiguous floats.
func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let P = UncheckedSendable((x, y))
    parallelFor(n, grain: 1 << 16) { r in
        let (x, y) = P.value
        if a == 1 { for i in r { y[i] += x[i] } } else { for i in r { y[i] += a * x[i] } }
    }
}

/// x *= a on contiguous floats.
func scale(_ a: Float, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
    let P = UncheckedSendable(x)
    parallelFor(n, grain: 1 << 16) { r in
        let x = P.value
        for i in r { x[i] *= a }
    }
}
