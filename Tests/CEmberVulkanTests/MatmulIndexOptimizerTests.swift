import CEmberVulkan
import Foundation
import XCTest

/// gemm_f32 / gemm_f16, the index kernels (embedding lookup and its backward, gather/scatter for
/// cross-entropy) and the AdamW step.
final class MatmulIndexOptimizerTests: VulkanTestCase {
    private func gemm(_ kernel: Int, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, m: Int, n: Int, k: Int, batch: Int,
                      aStrides: [Int], bStrides: [Int], alpha: Float = 1, beta: Float = 0) {
        let push = EmberVkGemmF32Push(m: UInt32(m), n: UInt32(n), k: UInt32(k), a_offset: 0, b_offset: 0, c_offset: 0,
                                      a_batch_stride: UInt32(aStrides[0]), a_row_stride: UInt32(aStrides[1]), a_col_stride: UInt32(aStrides[2]),
                                      b_batch_stride: UInt32(bStrides[0]), b_row_stride: UInt32(bStrides[1]), b_col_stride: UInt32(bStrides[2]),
                                      alpha: alpha, beta: beta)
        var p = push
        let raws: [OpaquePointer?] = [a.raw, b.raw, c.raw]
        let rc = ember_vk_dispatch(Int32(kernel), raws, nil, 3, &p, UInt32(MemoryLayout.size(ofValue: p)),
                                   UInt32((n + 63) / 64), UInt32((m + 63) / 64), UInt32(batch))
        XCTAssertEqual(rc, 0, String(cString: ember_vk_last_error()))
    }

    /// C[b] = A[b] · B with A [2, 70, 19] contiguous and B given as Bᵀ [33, 19] (strides, no copy),
    /// broadcast over the batch; then C += 0.5 · A·B through beta.
    func testGemmF32TransposedAndBatchedOperands() {
        let batch = 2, m = 70, n = 33, k = 19
        let a = (0..<batch * m * k).map { Float(($0 * 13) % 17) / 8 - 1 }
        let bt = (0..<n * k).map { Float(($0 * 7) % 11) / 5 - 1 }
        var ref = [Float](repeating: 0, count: batch * m * n)
        for bi in 0..<batch { for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for kk in 0..<k { s += Double(a[bi * m * k + i * k + kk]) * Double(bt[j * k + kk]) }
            ref[bi * m * n + i * n + j] = Float(s)
        } } }
        onBothMemoryPaths { path in
            let da = DeviceBuffer(a), db = DeviceBuffer(bt), dc = DeviceBuffer(bytes: ref.count * 4)
            gemm(EMBER_VK_KERNEL_GEMM_F32, a: da, b: db, c: dc, m: m, n: n, k: k, batch: batch, aStrides: [m * k, k, 1], bStrides: [0, 1, k])
            assertClose(dc.floats(ref.count), ref, rtol: 1e-5, atol: 1e-5, "\(path): gemm_f32")
            gemm(EMBER_VK_KERNEL_GEMM_F32, a: da, b: db, c: dc, m: m, n: n, k: k, batch: batch, aStrides: [m * k, k, 1], bStrides: [0, 1, k],
                 alpha: 0.5, beta: 1)
            assertClose(dc.floats(ref.count), ref.map { $0 * 1.5 }, rtol: 1e-5, atol: 1e-5, "\(path): gemm_f32 beta accumulate")
        }
    }

    func testGemmF16() {
        let m = 37, n = 65, k = 40
        let a = (0..<m * k).map { Float16(Float(($0 * 5) % 9) / 4 - 1) }
        let b = (0..<k * n).map { Float16(Float(($0 * 3) % 7) / 3 - 1) }
        var ref = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for kk in 0..<k { s += Double(Float(a[i * k + kk])) * Double(Float(b[kk * n + j])) }
            ref[i * n + j] = Float(s)
        } }
        onBothMemoryPaths { path in
            let da = DeviceBuffer(a.map { $0.bitPattern }), db = DeviceBuffer(b.map { $0.bitPattern }), dc = DeviceBuffer(bytes: m * n * 4)
            gemm(EMBER_VK_KERNEL_GEMM_F16, a: da, b: db, c: dc, m: m, n: n, k: k, batch: 1, aStrides: [0, k, 1], bStrides: [0, n, 1])
            assertClose(dc.floats(m * n), ref, rtol: 1e-5, atol: 1e-5, "\(path): gemm_f16")
        }
    }

    func testEmbeddingLookupAndBackward() {
        let vocab = 6, dim = 5
        let table = (0..<vocab * dim).map { Float($0) }
        let idx: [Int64] = [2, 0, 2, 5, 9] // 9 is out of range: zeros forward, skipped backward
        onBothMemoryPaths { path in
            let dt = DeviceBuffer(table), di = DeviceBuffer(idx), out = DeviceBuffer(bytes: idx.count * dim * 4)
            dispatch(EMBER_VK_KERNEL_INDEX_SELECT_ROWS, [dt, di, out],
                     EmberVkIndexSelectRowsPush(src_offset: 0, idx_offset: 0, out_offset: 0, n_idx: UInt32(idx.count), row_len: UInt32(dim), src_rows: UInt32(vocab)),
                     groups: 1)
            let expected = idx.flatMap { i in i < vocab ? Array(table[Int(i) * dim..<(Int(i) + 1) * dim]) : [Float](repeating: 0, count: dim) }
            XCTAssertEqual(out.floats(idx.count * dim), expected, "\(path): index_select_rows")
            let g = (0..<idx.count * dim).map { Float($0) * 0.5 }
            let dg = DeviceBuffer(g), grad = DeviceBuffer(bytes: vocab * dim * 4, zeroed: true)
            dispatch(EMBER_VK_KERNEL_INDEX_ADD_ROWS_F32, [dg, di, grad],
                     EmberVkIndexAddRowsF32Push(src_offset: 0, idx_offset: 0, out_offset: 0, n_idx: UInt32(idx.count), row_len: UInt32(dim), out_rows: UInt32(vocab)),
                     groups: 1)
            var gref = [Float](repeating: 0, count: vocab * dim)
            for (i, t) in idx.enumerated() where t < vocab { for j in 0..<dim { gref[Int(t) * dim + j] += g[i * dim + j] } }
            XCTAssertEqual(grad.floats(vocab * dim), gref, "\(path): index_add_rows (repeated index 2 sums)")
        }
    }

    func testGatherAndScatterLast() {
        let rows = 4, len = 7
        let x = (0..<rows * len).map { Float($0) }
        let idx: [Int64] = [6, 0, 3, 1]
        onBothMemoryPaths { path in
            let dx = DeviceBuffer(x), di = DeviceBuffer(idx), out = DeviceBuffer(bytes: rows * 4)
            dispatch(EMBER_VK_KERNEL_GATHER_LAST_F32, [dx, di, out],
                     EmberVkGatherLastF32Push(x_offset: 0, idx_offset: 0, out_offset: 0, rows: UInt32(rows), len: UInt32(len)), groups: 1)
            XCTAssertEqual(out.floats(rows), [6, 7, 17, 22], "\(path): gather_last")
            let acc = DeviceBuffer([Float](repeating: 1, count: rows * len))
            dispatch(EMBER_VK_KERNEL_SCATTER_ADD_LAST_F32, [out, di, acc],
                     EmberVkScatterAddLastF32Push(src_offset: 0, idx_offset: 0, out_offset: 0, rows: UInt32(rows), len: UInt32(len)), groups: 1)
            var ref = [Float](repeating: 1, count: rows * len)
            for r in 0..<rows { ref[r * len + Int(idx[r])] += [6, 7, 17, 22][r] }
            XCTAssertEqual(acc.floats(rows * len), ref, "\(path): scatter_add_last")
        }
    }

    /// Two AdamW steps against torch.optim.AdamW's formula (amsgrad off) evaluated in double.
    func testAdamWStep() {
        let n = 300
        let p = (0..<n).map { Float(sin(Double($0))) }
        let grads = [(0..<n).map { Float(cos(Double($0) * 0.3)) }, (0..<n).map { Float(sin(Double($0) * 0.7)) }]
        let lr: Float = 1e-2, b1: Float = 0.9, b2: Float = 0.95, eps: Float = 1e-8, wd: Float = 0.1
        onBothMemoryPaths { path in
            let dp = DeviceBuffer(p), dm = DeviceBuffer(bytes: n * 4, zeroed: true), dv = DeviceBuffer(bytes: n * 4, zeroed: true)
            var rp = p.map(Double.init), rm = [Double](repeating: 0, count: n), rv = rm
            for (step, g) in grads.enumerated() {
                let bc1 = 1 - pow(Double(b1), Double(step + 1)), bc2 = 1 - pow(Double(b2), Double(step + 1))
                let dg = DeviceBuffer(g)
                dispatch(EMBER_VK_KERNEL_ADAMW_STEP_F32, [dp, dg, dm, dv],
                         EmberVkAdamwStepF32Push(p_offset: 0, g_offset: 0, m_offset: 0, v_offset: 0, n: UInt32(n), lr: lr, beta1: b1, beta2: b2,
                                                 eps: eps, weight_decay: wd, bias_correction1: Float(bc1), bias_correction2: Float(bc2)),
                         groups: 2)
                for i in 0..<n {
                    let gi = Double(g[i])
                    rp[i] *= 1 - Double(lr * wd)
                    rm[i] = Double(b1) * rm[i] + (1 - Double(b1)) * gi
                    rv[i] = Double(b2) * rv[i] + (1 - Double(b2)) * gi * gi
                    rp[i] -= Double(lr) / bc1 * rm[i] / (rv[i].squareRoot() / bc2.squareRoot() + Double(eps))
                }
            }
            assertClose(dp.floats(n), rp.map(Float.init), rtol: 1e-5, atol: 1e-6, "\(path): adamw p")
            assertClose(dm.floats(n), rm.map(Float.init), rtol: 1e-5, atol: 1e-6, "\(path): adamw exp_avg")
            assertClose(dv.floats(n), rv.map(Float.init), rtol: 1e-5, atol: 1e-7, "\(path): adamw exp_avg_sq")
        }
    }
}
