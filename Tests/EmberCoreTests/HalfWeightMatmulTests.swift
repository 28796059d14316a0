import CEmberKernels
import Foundation
import XCTest
@testable import EmberCore

/// The half-precision weight product (HalfWeightGEMM.swift, half_gemm.c): `x · Wᵀ` with `W` in
/// bfloat16 or float16 must equal widening `W` to float32 and calling the float32 GEMM, up to
/// summation order.
///
/// Rule (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1): widening bf16/f16 to
/// float32 is exact, so both results are float32 sums of the same k products, each within
/// γ_k·Σ_p |x_p·w_p| of the exact dot product (γ_k = k·u / (1 − k·u), u = 2⁻²⁴); hence
/// |kernel − GEMM| ≤ 2·γ_k·Σ_p |x_p·w_p|, checked per element with Σ|x·w| computed in float64.
final class HalfWeightMatmulTests: XCTestCase {
    /// (m, k, n): odd sizes that hit every tail — k mod 16 and mod 8, n mod 4, one-row and
    /// two-row paths, the streaming/panel boundary (m = 64 / 65), and k larger than one panel row.
    let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 7, 5), (1, 16, 4), (1, 17, 9), (1, 100, 131), (2, 33, 13),
                                     (3, 100, 7), (5, 771, 37), (13, 8, 4), (64, 40, 19), (65, 45, 23),
                                     (70, 300, 130), (1, 3072, 11), (1, 4100, 6)]   // k > 4096: heap buffer for x

    private func gamma(_ k: Int) -> Double { let u = 0x1p-24, ku = Double(k) * u; return ku / (1 - ku) }

    /// Runs the kernel on float32 x [m, k] and a half weight [n, k]; returns float32 [m, n].
    private func kernel(_ x: Tensor, _ w: Tensor) -> Tensor {
        let (m, k, n) = (x.shape[0], x.shape[1], w.shape[0])
        let out = Tensor(shape: [m, n], dtype: .float32)
        HalfWeightGEMM.product(a: x.pointer(Float.self), w: w.pointer(UInt16.self), ldw: k, c: out.pointer(Float.self),
                               m: m, n: n, k: k, bfloat16: w.dtype == .bfloat16)
        return out
    }

    /// Asserts |got − want| ≤ 2γ_k Σ|x||w| + extra(want) elementwise (want: float32 GEMM).
    private func assertWithinSummationBound(_ got: Tensor, _ want: Tensor, x: Tensor, w32: Tensor, k: Int, _ what: String,
                                            extra: (Double) -> Double = { _ in 0 }) {
        let absSum = x.to(.float64).abs().matmul(w32.to(.float64).abs().t()).toDoubles()
        let g = got.to(.float64).toDoubles(), r = want.to(.float64).toDoubles()
        XCTAssertEqual(g.count, r.count, what)
        var worst = 0.0
        for i in 0..<g.count {
            let bound = 2 * gamma(k) * absSum[i] + extra(r[i])
            let d = abs(g[i] - r[i])
            worst = max(worst, d / max(bound, .leastNonzeroMagnitude))
            if d > bound { XCTFail("\(what): element \(i): \(g[i]) vs \(r[i]), |Δ| = \(d) > bound \(bound)"); return }
        }
        XCTAssertLessThanOrEqual(worst, 1, what)
    }

    private func checkKernel(_ dtype: DType, portable: Bool) {
        if portable { ember_half_kernels_force_level(0) }
        defer { ember_half_kernels_force_level(-1) }
        manualSeed(7)
        for (m, k, n) in shapes {
            let w = Tensor.randn([n, k]).to(dtype)              // the stored weight
            let w32 = w.to(.float32)                            // widened exactly
            let x = Tensor.randn([m, k])
            let got = kernel(x, w), want = x.matmul(w32.t())
            assertWithinSummationBound(got, want, x: x, w32: w32, k: k,
                                       "\(dtype) \(portable ? "portable" : "dispatched") kernel m=\(m) k=\(k) n=\(n)")
        }
    }

    func testBFloat16KernelEqualsWidenedFloat32GEMM() { checkKernel(.bfloat16, portable: false) }
    func testFloat16KernelEqualsWidenedFloat32GEMM() { checkKernel(.float16, portable: false) }
    func testPortableKernelsEqualWidenedFloat32GEMM() {
        checkKernel(.bfloat16, portable: true)
        checkKernel(.float16, portable: true)
    }

    /// Widening is exact for every one of the 65,536 bit patterns (NaN stays NaN), in the vector
    /// loop (n = 65,536) and in the scalar tails (n = 1), for both variants.
    func testWideningIsExactForAllBitPatterns() {
        let bits = (0...0xFFFF).map { UInt16($0) }
        for portable in [false, true] {
            if portable { ember_half_kernels_force_level(0) }
            defer { ember_half_kernels_force_level(-1) }
            var bf = [Float](repeating: 0, count: bits.count), hf = bf, one: Float = 0
            ember_bf16_to_f32(bits, &bf, bits.count)
            ember_f16_to_f32(bits, &hf, bits.count)
            for (i, b) in bits.enumerated() {
                let wantB = BFloat16(bitPattern: b).float, wantH = Float(Float16(bitPattern: b))
                ember_f16_to_f32([b], &one, 1)
                for (got, want, what) in [(bf[i], wantB, "bf16"), (hf[i], wantH, "f16"), (one, wantH, "f16 scalar")] {
                    if want.isNaN { XCTAssertTrue(got.isNaN, "\(what) 0x\(String(b, radix: 16)) portable=\(portable)") }
                    else if got.bitPattern != want.bitPattern {
                        XCTFail("\(what) 0x\(String(b, radix: 16)) portable=\(portable): \(got) != \(want)"); return
                    }
                }
            }
        }
    }

    /// Narrowing float32 → bfloat16 / float16 in the vectorised kernels (used by every `to(_:)` and
    /// by the ops around half-precision products) gives the bits of the scalar `BFloat16(_:)` /
    /// `Float16(_:)` conversions: for float32 patterns at and around every 16-bit value (exact
    /// values, rounding ties both ways, neighbours of ties, NaNs, infinities, subnormals) and a
    /// million random patterns, in both variants and through `Tensor.to(_:)` on a strided view.
    func testNarrowingMatchesScalarConversion() {
        var patterns: [UInt32] = []
        for h in 0...0xFFFF {
            let base = UInt32(h) << 16
            for d: UInt32 in [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF] { patterns.append(base | d) }
        }
        var state: UInt64 = 0x9E3779B97F4A7C15
        for _ in 0..<1_000_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            patterns.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        let floats = patterns.map { Float(bitPattern: $0) }
        for portable in [false, true] {
            if portable { ember_half_kernels_force_level(0) }
            defer { ember_half_kernels_force_level(-1) }
            var b = [UInt16](repeating: 0, count: floats.count), h = b
            ember_f32_to_bf16(floats, &b, floats.count)
            ember_f32_to_f16(floats, &h, floats.count)
            for (i, f) in floats.enumerated() {
                let wantB = BFloat16(f).bitPattern, wantH = Float16(f).bitPattern
                if b[i] != wantB { XCTFail("bf16 of 0x\(String(patterns[i], radix: 16)) portable=\(portable): 0x\(String(b[i], radix: 16)) != 0x\(String(wantB, radix: 16))"); return }
                if h[i] != wantH && !f.isNaN { XCTFail("f16 of 0x\(String(patterns[i], radix: 16)) portable=\(portable): 0x\(String(h[i], radix: 16)) != 0x\(String(wantH, radix: 16))"); return }
                if f.isNaN && !Float16(bitPattern: h[i]).isNaN { XCTFail("f16 of NaN 0x\(String(patterns[i], radix: 16)) is not NaN"); return }
            }
        }
        // Through the tensor copy: a transposed (strided) view and a contiguous one.
        let t = Tensor(array: Array(floats.prefix(4096 * 3)), shape: [4096, 3])
        for view in [t, t.t()] {
            let got = view.to(.bfloat16).contiguous().to(.float32).flatten().toFloats()
            let want = view.contiguous().flatten().toFloats().map { BFloat16($0).float }
            XCTAssertEqual(zip(got, want).filter { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }.count, 0)
        }
    }

    /// Batched half-type products with transposed views (attention's `q · kᵀ` over a KV-cache slice,
    /// and a transposed left operand): widened in their own row order, the float32 product and one
    /// rounding give exactly what widening by hand and multiplying in float32 gives.
    func testBatchedHalfProductWithTransposedViews() {
        manualSeed(5)
        for dtype in [DType.bfloat16, .float16] {
            let cache = Tensor.randn([2, 3, 16, 8]).to(dtype)
            let k = cache[0..., 0..., ..<7, 0...]                      // a slice, as the cache's used part
            let q = Tensor.randn([2, 3, 1, 8]).to(dtype)
            let scores = q.matmul(k.transpose(2, 3))                    // [2, 3, 1, 7]
            let want = q.to(.float32).matmul(k.to(.float32).transpose(2, 3)).to(dtype)
            XCTAssertEqual(scores.shape, [2, 3, 1, 7])
            XCTAssertEqual(scores.to(.float32).toFloats(), want.to(.float32).toFloats(), "\(dtype) q·kᵀ")
            let a = Tensor.randn([2, 3, 8, 5]).to(dtype).transpose(2, 3)   // [2, 3, 5, 8], transposed
            let got = a.matmul(k.transpose(2, 3))
            let ref = a.to(.float32).matmul(k.to(.float32).transpose(2, 3)).to(dtype)
            XCTAssertEqual(got.to(.float32).toFloats(), ref.to(.float32).toFloats(), "\(dtype) aᵀ·kᵀ")
        }
    }

    /// Through `matmul` as `Linear` calls it (`x.matmul(W.t())`, all operands bf16 or f16, batched
    /// input, and a weight that is a column slice of a wider matrix, so its row stride exceeds k):
    /// the result is the float32 product rounded once to the dtype, so the bound gains one ulp of
    /// the dtype at the result (both sides round once, by at most half an ulp each).
    func testMatmulHookForLinearLayout() {
        manualSeed(11)
        for dtype in [DType.bfloat16, .float16] {
            let ulp: (Double) -> Double = { v in
                let e = Double(Swift.max(Int(floor(log2(Swift.max(abs(v), 0x1p-14)))), -14))
                return pow(2, e - (dtype == .bfloat16 ? 7 : 10))
            }
            for (batch, m, k, n, wideK) in [(2, 3, 37, 29, 37), (1, 1, 768, 50, 800), (3, 70, 20, 9, 24)] {
                let wide = Tensor.randn([n, wideK]).to(dtype)
                let w = wide[0..., ..<k]                        // row stride wideK > k
                let x = Tensor.randn([batch, m, k]).to(dtype)
                let got = x.matmul(w.t())
                XCTAssertEqual(got.dtype, dtype)
                XCTAssertEqual(got.shape, [batch, m, n])
                let x32 = x.to(.float32).reshape([batch * m, k]), w32 = w.to(.float32)
                let want = x32.matmul(w32.t())
                assertWithinSummationBound(got.reshape([batch * m, n]), want, x: x32, w32: w32, k: k,
                                           "\(dtype) matmul hook b=\(batch) m=\(m) k=\(k) n=\(n)", extra: ulp)
            }
        }
    }
}
