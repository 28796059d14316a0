import CEmberKernels

/// Matrix products `x · Wᵀ` whose weight `W` is stored in bfloat16 or float16, computed in float32
/// without first widening all of `W` — the CPU path that makes half-precision generation fast.
///
/// PyTorch's CPU semantics for half types are kept: the operands' values are exact in float32,
/// products are accumulated in float32, and the result is rounded once to the tensor's dtype.
/// Only the summation order differs from widening `W` and calling the float32 GEMM.
///
/// - Few rows (`m ≤ streamingRows`: the decode step of generation, short prompts): a C kernel reads
///   `W` in its 16-bit form (bf16 → f32 is a 16-bit shift or mask, f16 → f32 is F16C's
///   `vcvtph2ps`), so a token reads half the bytes of float32 weights. For m = 1 with bfloat16 it
///   streams W one row at a time (36.7 GB/s on this machine, above the float32 GEMV's 28.8); for
///   m > 1 it widens four rows of `W` at a time into an L1-sized buffer shared by all rows of A.
///   The columns are split across ``Threads``.
/// - More rows (long prompts, batched evaluation): each thread widens a panel of
///   `W`'s rows into an L2-sized float32 buffer and calls the BLAS on it, so `W` is still read
///   from memory once, in 16 bits, and the arithmetic runs at GEMM speed.
enum HalfWeightGEMM {
    /// Rows of A up to which the streaming kernel is used (above it the panel + BLAS path); measured
    /// on GPT-2's shapes, the streaming kernel is ahead of the panel path up to about 64 rows.
    static let streamingRows = 64
    /// Float32 elements of one thread's widened panel of W (512 KiB: half of a 1 MiB L2).
    static let panelElements = 1 << 17

    /// Computes `out = a · b` when `b` is a half-type weight read transposed (`W.t()`, as
    /// `Linear` passes it) and shared by every batch entry; returns false, doing nothing, for any
    /// other operands (the caller's general path then handles them).
    /// - Parameters:
    ///   - a: `[*batch, m, k]` (any strides), same dtype as `b`.
    ///   - b: `[*batch, k, n]` bfloat16 or float16, batch strides 0, `b[p, j]` at `j·ldw + p`.
    ///   - out: `[*batch, m, n]` contiguous, same dtype.
    static func run(_ a: Tensor, _ b: Tensor, _ out: Tensor) -> Bool {
        guard b.dtype == .bfloat16 || b.dtype == .float16, a.dtype == b.dtype, out.dtype == b.dtype,
              a.device == .cpu, b.device == .cpu, out.isContiguous else { return false }
        let nd = out.ndim
        let k = b.shape[nd - 2], n = b.shape[nd - 1]
        guard k > 0, n > 0, out.numel > 0 else { return false }
        for d in 0..<(nd - 2) where b.shape[d] != 1 && b.strides[d] != 0 { return false }
        // W[j, p] = b[p, j] must be contiguous along p.
        guard b.strides[nd - 2] == 1 || k == 1 else { return false }
        let ldw = n == 1 ? k : b.strides[nd - 1]
        guard ldw >= k else { return false }
        let rows = out.numel / n
        // A widened to a contiguous float32 [rows, k] (small: activations, not weights).
        let af = Tensor(shape: a.shape, dtype: .float32, device: .cpu, zeroed: false)
        cpuCopy(from: a, to: af)
        let cf = Tensor(shape: out.shape, dtype: .float32, device: .cpu, zeroed: false)
        product(a: af.pointer(Float.self), w: b.pointer(UInt16.self), ldw: ldw, c: cf.pointer(Float.self),
                m: rows, n: n, k: k, bfloat16: b.dtype == .bfloat16)
        cpuCopy(from: cf, to: out)
        return true
    }

    /// C[m×n] = A[m×k] · Wᵀ with A, C float32 contiguous and W `[n, k]` half bit patterns (row
    /// stride `ldw`); chooses the streaming kernel or the panel path and splits columns across threads.
    static func product(a: UnsafePointer<Float>, w: UnsafePointer<UInt16>, ldw: Int, c: UnsafeMutablePointer<Float>,
                        m: Int, n: Int, k: Int, bfloat16: Bool) {
        let streaming = m <= streamingRows
        parallelColumns(n, k: k) { cols in
            let (lo, hi) = (cols.lowerBound, cols.upperBound)
            if streaming {
                if bfloat16 { ember_gemm_a_wt_bf16(a, k, w, ldw, c, n, m, k, lo, hi) }
                else { ember_gemm_a_wt_f16(a, k, w, ldw, c, n, m, k, lo, hi) }
            } else {
                panelProduct(a: a, w: w, ldw: ldw, c: c, m: m, n: n, k: k, columns: cols, bfloat16: bfloat16)
            }
        }
    }

    /// Columns `columns` of C through widened panels of W and the float32 GEMM (one thread).
    static func panelProduct(a: UnsafePointer<Float>, w: UnsafePointer<UInt16>, ldw: Int, c: UnsafeMutablePointer<Float>,
                             m: Int, n: Int, k: Int, columns: Range<Int>, bfloat16: Bool) {
        let panelRows = Swift.min(columns.count, Swift.max(16, panelElements / k / 16 * 16))
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: panelRows * k)
        defer { panel.deallocate() }
        var j = columns.lowerBound
        while j < columns.upperBound {
            let nb = Swift.min(panelRows, columns.upperBound - j)
            for r in 0..<nb {
                if bfloat16 { ember_bf16_to_f32(w + (j + r) * ldw, panel + r * k, k) }
                else { ember_f16_to_f32(w + (j + r) * ldw, panel + r * k, k) }
            }
            CPUGEMM.callS(false, true, m, nb, k, a, k, panel, k, 0, c + j, n)
            j += nb
        }
    }
}

/// The hook `batchedGEMM` calls for half-type operands (see ``HalfWeightGEMM/run(_:_:_:)``).
func halfWeightGEMM(_ a: Tensor, _ b: Tensor, _ out: Tensor) -> Bool { HalfWeightGEMM.run(a, b, out) }
