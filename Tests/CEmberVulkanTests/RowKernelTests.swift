import CEmberVulkan
import Foundation
import XCTest

/// Row kernels (reductions, softmax, layer norm, cross-entropy) against double-precision Swift
/// references. Rows longer than the 256-wide workgroup are included so the strided loops run.
final class RowKernelTests: VulkanTestCase {
    private func data(_ rows: Int, _ len: Int, seed: Int = 1) -> [Float] {
        (0..<rows * len).map { i in Float(sin(Double(i * 7 + seed) * 0.37) * 3) }
    }

    func testReduceRows() {
        let rows = 3, len = 300
        var x = data(rows, len)
        x[2 * len + 17] = .nan // row 2 propagates NaN through max/min/sum
        let cases: [(UInt32, String, ([Float]) -> Float)] = [
            (EMBER_VK_REDUCE_SUM, "sum", { Float($0.reduce(0.0) { $0 + Double($1) }) }),
            (EMBER_VK_REDUCE_MEAN, "mean", { Float($0.reduce(0.0) { $0 + Double($1) } / Double($0.count)) }),
            (EMBER_VK_REDUCE_PROD, "prod", { r in Float(r.prefix(40).reduce(1.0) { $0 * Double($1) }) }),
            (EMBER_VK_REDUCE_MAX, "max", { $0.contains { $0.isNaN } ? .nan : $0.max()! }),
            (EMBER_VK_REDUCE_MIN, "min", { $0.contains { $0.isNaN } ? .nan : $0.min()! }),
        ]
        onBothMemoryPaths { path in
            for (op, name, ref) in cases {
                let l = name == "prod" ? 40 : len // keep products finite
                let xs = (0..<rows).flatMap { r in Array(x[r * len..<r * len + l]) }
                let dx = DeviceBuffer(xs), out = DeviceBuffer(bytes: rows * 4)
                dispatch(EMBER_VK_KERNEL_REDUCE_ROWS_F32, [dx, out],
                         EmberVkReduceRowsF32Push(in_offset: 0, out_offset: 0, rows: UInt32(rows), len: UInt32(l), op: op), groups: rows)
                let expected = (0..<rows).map { ref(Array(xs[$0 * l..<($0 + 1) * l])) }
                assertClose(out.floats(rows), expected, rtol: 2e-5, atol: 1e-5, "\(path): reduce_rows \(name)")
            }
        }
    }

    func testArgmaxArgmin() {
        // Ties resolve to the first occurrence, NaN wins; one row longer than the workgroup.
        let rows: [[Float]] = [[1, 5, 3, 5, 2], [-1, -1, -3, -3, 0], [2, .nan, 7, .nan, 1], (0..<5).map { Float($0 % 2) }]
        let long: [Float] = (0..<600).map { Float(($0 * 37) % 101) } // max 100 first at index 300? computed below
        onBothMemoryPaths { path in
            for (op, name) in [(EMBER_VK_ARGREDUCE_MAX, "argmax"), (EMBER_VK_ARGREDUCE_MIN, "argmin")] {
                for (label, rs, len) in [("short rows", rows, 5), ("long row", [long], 600)] {
                    let x = DeviceBuffer(rs.flatMap { $0 }), vals = DeviceBuffer(bytes: rs.count * 4), idx = DeviceBuffer(bytes: rs.count * 8)
                    dispatch(EMBER_VK_KERNEL_ARGREDUCE_ROWS_F32, [x, vals, idx],
                             EmberVkArgreduceRowsF32Push(in_offset: 0, values_offset: 0, indices_offset: 0, rows: UInt32(rs.count), len: UInt32(len), op: op),
                             groups: rs.count)
                    let expected: [Int64] = rs.map { r in
                        if let n = r.firstIndex(where: { $0.isNaN }) { return Int64(n) }
                        let best = op == EMBER_VK_ARGREDUCE_MAX ? r.max()! : r.min()!
                        return Int64(r.firstIndex(of: best)!)
                    }
                    XCTAssertEqual(idx.read(Int64.self, count: rs.count), expected, "\(path): \(name) \(label)")
                    assertClose(vals.floats(rs.count), zip(rs, expected).map { $0[Int($1)] }, "\(path): \(name) values \(label)")
                }
            }
        }
    }

    func testReduceMiddleDim() {
        // x [2, 5, 3] summed over dim 1, and [7, 4] over dim 0 (a bias gradient).
        let x = data(2, 15)
        onBothMemoryPaths { path in
            for (outer, len, inner, op, name) in [(2, 5, 3, EMBER_VK_REDUCE_SUM, "sum dim 1"), (1, 7, 4, EMBER_VK_REDUCE_MAX, "max dim 0"),
                                                  (2, 5, 3, EMBER_VK_REDUCE_MEAN, "mean dim 1")] {
                let dx = DeviceBuffer(x), out = DeviceBuffer(bytes: outer * inner * 4)
                dispatch(EMBER_VK_KERNEL_REDUCE_MID_F32, [dx, out],
                         EmberVkReduceMidF32Push(in_offset: 0, out_offset: 0, outer: UInt32(outer), len: UInt32(len), inner: UInt32(inner), op: op), groups: 1)
                let expected = (0..<outer * inner).map { t -> Float in
                    let o = t / inner, i = t % inner
                    let col = (0..<len).map { x[o * len * inner + $0 * inner + i] }
                    return op == EMBER_VK_REDUCE_MAX ? col.max()! : col.reduce(0, +) / (op == EMBER_VK_REDUCE_MEAN ? Float(len) : 1)
                }
                assertClose(out.floats(outer * inner), expected, "\(path): reduce_mid \(name)")
            }
        }
    }

    private func softmaxRef(_ r: [Float]) -> [Double] {
        let m = Double(r.max()!)
        let e = r.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func testSoftmaxAndBackward() {
        let rows = 4, len = 300
        var x = data(rows, len)
        for j in 0..<len where j % 3 == 0 { x[len + j] = -.infinity } // causal-mask style -inf
        let g = data(rows, len, seed: 5)
        onBothMemoryPaths { path in
            let dx = DeviceBuffer(x), y = DeviceBuffer(bytes: rows * len * 4), dg = DeviceBuffer(g), gx = DeviceBuffer(bytes: rows * len * 4)
            for log in [0, 1] {
                dispatch(EMBER_VK_KERNEL_SOFTMAX_ROWS_F32, [dx, y],
                         EmberVkSoftmaxRowsF32Push(in_offset: 0, out_offset: 0, rows: UInt32(rows), len: UInt32(len), log_softmax: UInt32(log)), groups: rows)
                dispatch(EMBER_VK_KERNEL_SOFTMAX_ROWS_BACKWARD_F32, [y, dg, gx],
                         EmberVkSoftmaxRowsBackwardF32Push(y_offset: 0, g_offset: 0, out_offset: 0, rows: UInt32(rows), len: UInt32(len), log_softmax: UInt32(log)),
                         groups: rows)
                var yRef: [Float] = [], gRef: [Float] = []
                for r in 0..<rows {
                    let p = softmaxRef(Array(x[r * len..<(r + 1) * len]))
                    let gr = g[r * len..<(r + 1) * len].map(Double.init)
                    if log == 1 {
                        yRef += p.map { Float(Foundation.log($0)) }
                        let s = gr.reduce(0, +)
                        gRef += zip(gr, p).map { Float($0 - $1 * s) }
                    } else {
                        yRef += p.map(Float.init)
                        let s = zip(gr, p).map(*).reduce(0, +)
                        gRef += zip(gr, p).map { Float($1 * ($0 - s)) }
                    }
                }
                let name = log == 1 ? "log_softmax" : "softmax"
                assertClose(y.floats(rows * len), yRef, rtol: 1e-5, atol: 1e-6, "\(path): \(name)")
                assertClose(gx.floats(rows * len), gRef, rtol: 1e-4, atol: 1e-5, "\(path): \(name) backward")
            }
            // A row of only -inf gives NaN, as PyTorch.
            let dead = DeviceBuffer([Float](repeating: -.infinity, count: 4)), dy = DeviceBuffer(bytes: 16)
            dispatch(EMBER_VK_KERNEL_SOFTMAX_ROWS_F32, [dead, dy], EmberVkSoftmaxRowsF32Push(in_offset: 0, out_offset: 0, rows: 1, len: 4, log_softmax: 0), groups: 1)
            XCTAssertTrue(dy.floats(4).allSatisfy { $0.isNaN }, "\(path): softmax of all -inf")
        }
    }

    func testLayerNormForwardAndBackward() {
        let rows = 5, len = 280
        let x = data(rows, len).map { $0 + 2 }, w = data(1, len, seed: 9).map { 1 + $0 / 10 }, b = data(1, len, seed: 11)
        let g = data(rows, len, seed: 13)
        let eps: Float = 1e-5
        onBothMemoryPaths { path in
            let dx = DeviceBuffer(x), dw = DeviceBuffer(w), db = DeviceBuffer(b), y = DeviceBuffer(bytes: rows * len * 4)
            let mean = DeviceBuffer(bytes: rows * 4), rstd = DeviceBuffer(bytes: rows * 4)
            dispatch(EMBER_VK_KERNEL_LAYER_NORM_ROWS_F32, [dx, dw, db, y, mean, rstd],
                     EmberVkLayerNormRowsF32Push(x_offset: 0, w_offset: 0, b_offset: 0, y_offset: 0, mean_offset: 0, rstd_offset: 0,
                                                 rows: UInt32(rows), len: UInt32(len), eps: eps, affine: 1), groups: rows)
            let dg = DeviceBuffer(g), gx = DeviceBuffer(bytes: rows * len * 4)
            dispatch(EMBER_VK_KERNEL_LAYER_NORM_BACKWARD_F32, [dx, dg, dw, mean, rstd, gx],
                     EmberVkLayerNormBackwardF32Push(x_offset: 0, g_offset: 0, w_offset: 0, mean_offset: 0, rstd_offset: 0, dx_offset: 0,
                                                     rows: UInt32(rows), len: UInt32(len), affine: 1), groups: rows)
            let gw = DeviceBuffer(bytes: len * 4), gb = DeviceBuffer(bytes: len * 4)
            dispatch(EMBER_VK_KERNEL_LAYER_NORM_PARAM_GRAD_F32, [dx, dg, mean, rstd, gw, gb],
                     EmberVkLayerNormParamGradF32Push(x_offset: 0, g_offset: 0, mean_offset: 0, rstd_offset: 0, dw_offset: 0, db_offset: 0,
                                                      rows: UInt32(rows), len: UInt32(len), accumulate: 0), groups: groups(len, EMBER_VK_KERNEL_LAYER_NORM_PARAM_GRAD_F32))
            var yRef: [Float] = [], dxRef: [Float] = [], meanRef: [Float] = [], rstdRef: [Float] = []
            var dwRef = [Double](repeating: 0, count: len), dbRef = [Double](repeating: 0, count: len)
            for r in 0..<rows {
                let xr = x[r * len..<(r + 1) * len].map(Double.init), gr = g[r * len..<(r + 1) * len].map(Double.init)
                let m = xr.reduce(0, +) / Double(len)
                let v = xr.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(len)
                let rs = 1 / (v + Double(eps)).squareRoot()
                let xhat = xr.map { ($0 - m) * rs }
                meanRef.append(Float(m)); rstdRef.append(Float(rs))
                yRef += (0..<len).map { Float(xhat[$0] * Double(w[$0]) + Double(b[$0])) }
                let gwv = (0..<len).map { gr[$0] * Double(w[$0]) }
                let m1 = gwv.reduce(0, +) / Double(len), m2 = zip(gwv, xhat).map(*).reduce(0, +) / Double(len)
                dxRef += (0..<len).map { Float(rs * (gwv[$0] - m1 - xhat[$0] * m2)) }
                for j in 0..<len { dwRef[j] += gr[j] * xhat[j]; dbRef[j] += gr[j] }
            }
            assertClose(y.floats(rows * len), yRef, rtol: 1e-5, atol: 1e-5, "\(path): layer_norm y")
            assertClose(mean.floats(rows), meanRef, "\(path): layer_norm mean")
            assertClose(rstd.floats(rows), rstdRef, rtol: 1e-5, "\(path): layer_norm rstd")
            assertClose(gx.floats(rows * len), dxRef, rtol: 1e-4, atol: 1e-5, "\(path): layer_norm dx")
            assertClose(gw.floats(len), dwRef.map(Float.init), rtol: 1e-4, atol: 1e-5, "\(path): layer_norm dscale")
            assertClose(gb.floats(len), dbRef.map(Float.init), rtol: 1e-4, atol: 1e-5, "\(path): layer_norm dshift")
        }
    }

    func testCrossEntropyAndBackward() {
        let rows = 5, vocab = 300
        let x = data(rows, vocab)
        let targets: [Int64] = [3, 299, -100, 0, 150]
        onBothMemoryPaths { path in
            let dx = DeviceBuffer(x), dt = DeviceBuffer(targets), loss = DeviceBuffer(bytes: rows * 4), valid = DeviceBuffer(bytes: rows * 4)
            dispatch(EMBER_VK_KERNEL_CROSS_ENTROPY_ROWS_F32, [dx, dt, loss, valid],
                     EmberVkCrossEntropyRowsF32Push(x_offset: 0, target_offset: 0, loss_offset: 0, valid_offset: 0, rows: UInt32(rows),
                                                    len: UInt32(vocab), ignore_index: -100), groups: rows)
            // Backward of the mean over the 4 counted rows with upstream grad 1: g = 1/4, stride 0.
            let g = DeviceBuffer([Float(0.25)]), gx = DeviceBuffer(bytes: rows * vocab * 4)
            dispatch(EMBER_VK_KERNEL_CROSS_ENTROPY_BACKWARD_F32, [dx, dt, g, gx],
                     EmberVkCrossEntropyBackwardF32Push(x_offset: 0, target_offset: 0, g_offset: 0, g_stride: 0, out_offset: 0,
                                                        rows: UInt32(rows), len: UInt32(vocab), ignore_index: -100), groups: rows)
            var lossRef: [Float] = [], gRef: [Float] = []
            for r in 0..<rows {
                let row = Array(x[r * vocab..<(r + 1) * vocab])
                let p = softmaxRef(row)
                let t = Int(targets[r])
                if t == -100 {
                    lossRef.append(0); gRef += [Float](repeating: 0, count: vocab)
                } else {
                    lossRef.append(Float(-log(p[t])))
                    gRef += (0..<vocab).map { Float((p[$0] - ($0 == t ? 1 : 0)) * 0.25) }
                }
            }
            assertClose(loss.floats(rows), lossRef, rtol: 1e-5, atol: 1e-5, "\(path): cross_entropy loss")
            XCTAssertEqual(valid.floats(rows), [1, 1, 0, 1, 1], "\(path): cross_entropy valid")
            assertClose(gx.floats(rows * vocab), gRef, rtol: 1e-4, atol: 1e-6, "\(path): cross_entropy backward")
        }
    }
}
