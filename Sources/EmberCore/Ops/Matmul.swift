/// Matrix products with PyTorch's rules: `matmul` (1-D, 2-D, batched, broadcast batch dims),
/// `mm`, `bmm`, `dot`, `outer`. Source: https://pytorch.org/docs/stable/generated/torch.matmul.html

extension Tensor {
    /// `matmul(other)` / `@`.
    ///
    /// - 1-D · 1-D: dot product (0-d); 2-D · 2-D: matrix product; 1-D operands are promoted to a
    ///   matrix and the added dimension removed; ≥3-D: batched with broadcast batch dims.
    /// Errors in PyTorch's wording, e.g. "mat1 and mat2 shapes cannot be multiplied (6x3 and 2x3)".
    public func matmul(_ other: Tensor) -> Tensor {
        let a = self, b = other
        guard a.ndim > 0 && b.ndim > 0 else {
            return raiseError("both arguments to matmul need to be at least 1D, but they are \(a.ndim)D and \(b.ndim)D", dtype: a.dtype)
        }
        guard commonDevice([a, b]) != nil else { return Tensor(metaShape: [], dtype: a.dtype) }
        guard a.dtype == b.dtype else {
            return raiseError("expected m1 and m2 to have the same dtype, but got: \(a.dtype.cppTypeName) != \(b.dtype.cppTypeName)", dtype: a.dtype)
        }
        if a.ndim == 1 && b.ndim == 1 { return a.dot(b) }
        if a.ndim == 1 || b.ndim == 1 { return matmulVector(b) }
        let m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1]
        let k2 = b.shape[b.ndim - 2], n = b.shape[b.ndim - 1]
        guard k == k2 else {
            if a.ndim == 2 && b.ndim == 2 {
                return raiseError("mat1 and mat2 shapes cannot be multiplied (\(m)x\(k) and \(k2)x\(n))", shape: [m, n], dtype: a.dtype)
            }
            return raiseError("Expected size for first two dimensions of batch2 tensor to be: [\(a.shape.dropLast(2).reduce(1, *)), \(k)] but got: [\(b.shape.dropLast(2).reduce(1, *)), \(k2)].", shape: [m, n], dtype: a.dtype)
        }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch: [Int]
        switch broadcastShapes(batchA, batchB) {
        case .success(let s): batch = s
        case .failure(let e): return raiseError(e, dtype: a.dtype)
        }
        let outShape = batch + [m, n]
        let out = Tensor(shape: outShape, dtype: a.dtype, device: a.device, zeroed: false)
        if a.isMeta { return out }
        guard a.dtype.isFloatingPoint else {
            return raiseError("\"addmm_impl_cpu_\" not implemented for '\(a.dtype.scalarTypeName)'", shape: outShape, dtype: a.dtype)
        }
        batchedGEMM(a.rawExpand(batch + [m, k]), b.rawExpand(batch + [k, n]), out)
        if Tensor.needsGrad([a, b]) {
            let name = (a.ndim == 2 && b.ndim == 2) ? "MmBackward0" : "UnsafeViewBackward0"
            out.recordGrad(name, [a, b], saving: [a, b]) { g in
                [a.requiresGrad ? g.matmul(b.mT).gradFor(a) : nil,
                 b.requiresGrad ? a.mT.matmul(g).gradFor(b) : nil]
            }
        }
        return out
    }

    /// matmul with exactly one 1-D operand: the vector is promoted to a matrix and the added
    /// dimension removed. One graph node, named as PyTorch names it (`MvBackward0` for
    /// matrix·vector, `SqueezeBackward4` for vector·matrix, `UnsafeViewBackward0` when batched).
    func matmulVector(_ b: Tensor) -> Tensor {
        let a = self
        let r = noGrad { a.ndim == 1 ? a.unsqueeze(0).matmul(b).squeeze(-2) : a.matmul(b.unsqueeze(1)).squeeze(-1) }
        guard Tensor.needsGrad([a, b]) else { return r }
        let name = a.ndim == 1 ? (b.ndim == 2 ? "SqueezeBackward4" : "UnsafeViewBackward0")
                               : (a.ndim == 2 ? "MvBackward0" : "UnsafeViewBackward0")
        return r.recordGrad(name, [a, b], saving: [a, b]) { g in
            if a.ndim == 1 {
                // r[..., n] = Σ_k a[k] b[..., k, n]
                let gn = g.unsqueeze(-2)   // [..., 1, n]
                return [a.requiresGrad ? (b * gn).sum(-1).sumTo(a.shape) : nil,
                        b.requiresGrad ? (a.unsqueeze(-1) * gn).gradFor(b) : nil]
            }
            // r[..., m] = Σ_k a[..., m, k] b[k]
            let gm = g.unsqueeze(-1)       // [..., m, 1]
            return [a.requiresGrad ? (gm * b).gradFor(a) : nil,
                    b.requiresGrad ? (a * gm).sumTo(b.shape) : nil]
        }
    }

    /// `mm(other)`: 2-D only.
    public func mm(_ other: Tensor) -> Tensor {
        guard ndim == 2 else { return raiseError("self must be a matrix", dtype: dtype) }
        guard other.ndim == 2 else { return raiseError("mat2 must be a matrix", dtype: dtype) }
        return matmul(other)
    }
    /// `bmm(other)`: 3-D with equal batch sizes.
    public func bmm(_ other: Tensor) -> Tensor {
        guard ndim == 3 else { return raiseError("batch1 must be a 3D tensor", dtype: dtype) }
        guard other.ndim == 3 else { return raiseError("batch2 must be a 3D tensor", dtype: dtype) }
        let a = self, b = other
        let r = noGrad { a.matmul(b) }
        return r.recordGrad("BmmBackward0", [a, b], saving: [a, b]) { g in
            [a.requiresGrad ? g.matmul(b.mT) : nil, b.requiresGrad ? a.mT.matmul(g) : nil]
        }
    }

    /// `dot(other)`: 1-D inner product (0-d result).
    public func dot(_ other: Tensor) -> Tensor {
        guard ndim == 1 && other.ndim == 1 else {
            return raiseError("1D tensors expected, but got \(ndim)D and \(other.ndim)D tensors", dtype: dtype)
        }
        guard shape[0] == other.shape[0] else {
            return raiseError("inconsistent tensor size, expected tensor [\(shape[0])] and src [\(other.shape[0])] to have the same number of elements, but got \(shape[0]) and \(other.shape[0]) elements respectively", dtype: dtype)
        }
        guard dtype == other.dtype else {
            return raiseError("dot : expected both vectors to have same dtype, but found \(dtype.scalarTypeName) and \(other.dtype.scalarTypeName)", dtype: dtype)
        }
        let r = noGrad { (self * other).sum() }
        if Tensor.needsGrad([self, other]) {
            let a = self, b = other
            r.recordGrad("DotBackward0", [a, b], saving: [a, b]) { g in [g * b, g * a] }
        }
        return r
    }

    /// `outer(other)`: [n] × [m] → [n, m].
    public func outer(_ other: Tensor) -> Tensor { unsqueeze(1) * other.unsqueeze(0) }
}

/// Free-function spelling: `matmul(a, b)`.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor { a.matmul(b) }

/// Runs one GEMM per batch entry; operands may be any strided views whose last two dims have a
/// unit stride in one direction (others are copied to contiguous first).
func batchedGEMM(_ a: Tensor, _ b: Tensor, _ out: Tensor) {
    let nd = out.ndim
    let m = out.shape[nd - 2], n = out.shape[nd - 1], k = a.shape[nd - 1]
    func matrixLayout(_ t: Tensor) -> (Tensor, trans: Bool, ld: Int) {
        let r = t.strides[nd - 2], c = t.strides[nd - 1]
        let rows = t.shape[nd - 2], cols = t.shape[nd - 1]
        if c == 1 && (r >= Swift.max(cols, 1) || rows == 1) { return (t, false, Swift.max(r, Swift.max(cols, 1))) }
        if r == 1 && (c >= Swift.max(rows, 1) || cols == 1) { return (t, true, Swift.max(c, Swift.max(rows, 1))) }
        let cc = Tensor(shape: t.shape, dtype: t.dtype, device: .cpu, zeroed: false)
        cpuCopy(from: t, to: cc)
        return (cc, false, Swift.max(cols, 1))
    }
    let (A, ta, lda) = matrixLayout(a)
    let (B, tb, ldb) = matrixLayout(b)
    let batchShape = Array(out.shape.dropLast(2))
    let batchCount = batchShape.reduce(1, *)
    // Fold a batch into M when A's batch dims are contiguous rows and B is shared (Linear layers).
    var offsetsA: [Int] = [], offsetsB: [Int] = []
    var idx = [Int](repeating: 0, count: batchShape.count)
    for _ in 0..<batchCount {
        var oa = A.storageOffset, ob = B.storageOffset
        for d in 0..<batchShape.count { oa += idx[d] * A.strides[d]; ob += idx[d] * B.strides[d] }
        offsetsA.append(oa); offsetsB.append(ob)
        var d = batchShape.count - 1
        while d >= 0 { idx[d] += 1; if idx[d] < batchShape[d] { break }; idx[d] = 0; d -= 1 }
    }
    let sharedB = Set(offsetsB).count == 1
    let aRowsContiguous = !ta && batchCount > 1 && zip(offsetsA.dropFirst(), offsetsA).allSatisfy { $0 - $1 == m * lda }
    if a.dtype == .float32 {
        let ap = A.storage.data!.assumingMemoryBound(to: Float.self)
        let bp = B.storage.data!.assumingMemoryBound(to: Float.self)
        let cp = out.pointer(Float.self)
        if sharedB && aRowsContiguous {
            CPUGEMM.sgemm(m: m * batchCount, n: n, k: k, a: ap + offsetsA[0], lda: lda, transA: false,
                          b: bp + offsetsB[0], ldb: ldb, transB: tb, c: cp, ldc: n)
            return
        }
        for i in 0..<batchCount {
            CPUGEMM.sgemm(m: m, n: n, k: k, a: ap + offsetsA[i], lda: lda, transA: ta,
                          b: bp + offsetsB[i], ldb: ldb, transB: tb, c: cp + i * m * n, ldc: n)
        }
    } else if a.dtype == .float64 {
        let ap = A.storage.data!.assumingMemoryBound(to: Double.self)
        let bp = B.storage.data!.assumingMemoryBound(to: Double.self)
        let cp = out.pointer(Double.self)
        for i in 0..<batchCount {
            CPUGEMM.dgemm(m: m, n: n, k: k, a: ap + offsetsA[i], lda: lda, transA: ta,
                          b: bp + offsetsB[i], ldb: ldb, transB: tb, c: cp + i * m * n, ldc: n)
        }
    } else {
        // Half types: compute in float32 and round, as PyTorch's CPU kernels accumulate in float.
        if halfWeightGEMM(a, b, out) { return }   // bf16/f16 weight x · Wᵀ: HalfWeightGEMM.swift
        let af = a.rawCast(.float32), bf = b.rawCast(.float32)
        let of = Tensor(shape: out.shape, dtype: .float32, device: .cpu, zeroed: false)
        batchedGEMM(af, bf, of)
        cpuCopy(from: of, to: out)
    }
}

extension DType {
    /// The C++ element type's name as ATen's `TypeMeta` prints it in some messages (gcc/Linux):
    /// "expected m1 and m2 to have the same dtype, but got: float != double".
    var cppTypeName: String {
        switch self {
        case .float32: return "float"
        case .float64: return "double"
        case .float16: return "c10::Half"
        case .bfloat16: return "c10::BFloat16"
        case .int64: return "long int"
        case .int32: return "int"
        case .int16: return "short int"
        case .int8: return "signed char"
        case .uint8: return "unsigned char"
        case .bool: return "bool"
        }
    }
}
