/// The CPU backend's batched matrix product: one BLAS GEMM per batch entry, transposed operands
/// passed as transposes (no copies), a shared right operand folded into one GEMM.

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
        if batchCount == 1 && m == 1 && tb && !ta {
            // One row times a transposed weight (the decode step): memory-bound, streamed.
            DecodeGEMV.product(x: ap + offsetsA[0], w: bp + offsetsB[0], ldw: ldb, y: cp, k: k, n: n)
            return
        }
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
        // Widen in the operand's own row order: a transposed view (kᵀ from a KV cache) is widened
        // untransposed, so the conversion reads and writes contiguous rows (vectorised) and the
        // float32 GEMM reads the result transposed, instead of a strided element-by-element copy.
        func widened(_ t: Tensor) -> Tensor {
            let r = t.strides[nd - 2], c = t.strides[nd - 1]
            if r == 1 && c != 1 && t.shape[nd - 2] > 1 {
                // Raw views (no autograd: this is a kernel): swap the last two dims, widen, swap back.
                func swapped(_ x: Tensor) -> Tensor {
                    var sh = x.shape, st = x.strides
                    sh.swapAt(nd - 2, nd - 1); st.swapAt(nd - 2, nd - 1)
                    return x.makeView(shape: sh, strides: st, offset: x.storageOffset)
                }
                return swapped(swapped(t).rawCast(.float32))
            }
            return t.rawCast(.float32)
        }
        let af = widened(a), bf = widened(b)
        let of = Tensor(shape: out.shape, dtype: .float32, device: .cpu, zeroed: false)
        batchedGEMM(af, bf, of)
        cpuCopy(from: of, to: out)
    }
}

