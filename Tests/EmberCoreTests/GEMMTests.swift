import CEmberKernels
import Foundation
import XCTest
@testable import EmberCore

/// The built-in float32 GEMM (`Sources/CEmberKernels/sgemm.c`) against a float64 reference, on
/// every instruction set this CPU runs (portable C always; AVX2+FMA and AVX-512F where present):
/// odd shapes (edge tiles), k = 0, all four transpose combinations, leading dimensions wider than
/// the rows, accumulation, the threaded split, and batched/strided products through `matmul`.
/// The bound is the classical one for a k-term float32 dot product, |ĉ − c| ≤ k·u·Σ|aᵢbᵢ|
/// (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., §3.1), with u = 2⁻²³ (twice
/// the unit roundoff as margin): any indexing or packing mistake is off by whole products.
final class GEMMTests: XCTestCase {
    /// (m, n, k): single elements, shapes that are not multiples of any micro-tile (4×8, 6×16,
    /// 14×32), k = 0, k across several KC blocks, one row / one column, a split across threads.
    private let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (7, 13, 5), (97, 131, 67), (5, 3, 0), (6, 16, 256), (14, 32, 300), (130, 70, 600),
        (70, 130, 600), (1, 100, 3), (100, 1, 3), (33, 47, 513),
    ]

    private var isas: [Int32] {
        [EMBER_GEMM_ISA_PORTABLE, EMBER_GEMM_ISA_AVX2, EMBER_GEMM_ISA_AVX512].map { Int32($0) }
            .filter { ember_gemm_isa_supported($0) != 0 }
    }

    /// Deterministic values in [-1, 1) (a 32-bit LCG: the test needs no tensor machinery).
    private func values(_ count: Int, seed: UInt32) -> [Float] {
        var s = seed &* 2_654_435_761 &+ 1
        return (0..<count).map { _ in
            s = s &* 1_664_525 &+ 1_013_904_223
            return Float(s >> 8) / Float(1 << 23) - 1
        }
    }

    /// Runs one product through `run` (which gets a, lda, b, ldb, c, ldc) and checks every element
    /// of C against the float64 reference, and that the padding past each row is untouched.
    private func check(_ label: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool, pad: Int, accumulate: Bool,
                       _ run: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void) {
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        let aRows = transA ? k : m, bRows = transB ? n : k
        let a = values(Swift.max(1, aRows * lda), seed: UInt32(m * 31 + k))
        let b = values(Swift.max(1, bRows * ldb), seed: UInt32(n * 17 + k + 1))
        var c = values(Swift.max(1, m * ldc), seed: UInt32(m + n + 2))
        let c0 = c
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in run(ap.baseAddress!, lda, bp.baseAddress!, ldb, cp.baseAddress!, ldc) }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var s = accumulate ? Double(c0[i * ldc + j]) : 0, bound = abs(s)
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p]) * Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    s += x
                    bound += abs(x)
                }
                let err = abs(Double(c[i * ldc + j]) - s)
                let tol = Double(k + 1) * Double(Float.ulpOfOne) * bound
                if err > tol { worst = Swift.max(worst, err) }
                XCTAssert(err <= tol, "\(label) C[\(i),\(j)] = \(c[i * ldc + j]), float64 \(s)")
                if err > tol { return }
            }
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "\(label): padding of row \(i) written") }
        }
    }

    func testEveryISAMatchesFloat64OnOddShapesTransposesStridesAndAccumulation() {
        XCTAssertTrue(isas.contains(Int32(EMBER_GEMM_ISA_PORTABLE)))
        for isa in isas {
            for (m, n, k) in shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        for pad in [0, 5] {
                            for accumulate in [false, true] {
                                let label = "isa \(isa) \(m)×\(n)×\(k) tA \(transA) tB \(transB) pad \(pad) acc \(accumulate)"
                                check(label, m: m, n: n, k: k, transA: transA, transB: transB, pad: pad, accumulate: accumulate) {
                                    a, lda, b, ldb, c, ldc in
                                    ember_sgemm(isa, transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The threaded driver (C split into row or column blocks at tile boundaries) with each ISA.
    func testThreadedSplitMatchesFloat64() {
        for isa in isas {
            for (m, n, k) in [(130, 70, 600), (70, 130, 600), (301, 45, 200), (45, 301, 200), (13, 900, 170)] {
                for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                    for accumulate in [false, true] {
                        let label = "threaded isa \(isa) \(m)×\(n)×\(k) tA \(transA) tB \(transB) acc \(accumulate)"
                        check(label, m: m, n: n, k: k, transA: transA, transB: transB, pad: 3, accumulate: accumulate) {
                            a, lda, b, ldb, c, ldc in
                            CPUGEMM.sgemm(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                                          c: c, ldc: ldc, accumulate: accumulate, kernels: .builtIn(isa: isa))
                        }
                    }
                }
            }
        }
    }

    /// Batched and strided products as the model makes them (per-head attention on transposed
    /// views, a shared weight folded into one GEMM), through `matmul` on the selected kernels,
    /// against the same products in float64.
    func testBatchedAndStridedMatmulMatchesFloat64() {
        let g = Generator(seed: 7)
        let q = Tensor.randn([2, 3, 37, 16], generator: g), kv = Tensor.randn([2, 3, 41, 16], generator: g)
        let w = Tensor.randn([50, 16], generator: g), x = Tensor.randn([2, 29, 16], generator: g)
        let wide = Tensor.randn([23, 40], generator: g)
        let cases: [(String, Tensor, Tensor)] = [
            ("q·kᵀ per head", q, kv.transpose(-2, -1)),
            ("(q·kᵀ)·v per head", q.matmul(kv.transpose(-2, -1)), kv),
            ("qᵀ·q per head (transposed A)", q.transpose(-2, -1), q),
            ("x·Wᵀ shared weight", x, w.t()),
            ("rows with a leading dimension (narrowed columns)", wide.narrow(1, start: 3, length: 16), w.t()),
            ("every other row (slice step 2)", x.slice(1, step: 2), w.narrow(0, start: 5, length: 31).t()),
        ]
        for (label, a, b) in cases {
            let got = a.matmul(b).toArray(Float.self)
            let want = a.to(.float64).matmul(b.to(.float64)).toArray(Double.self)
            XCTAssertEqual(got.count, want.count, label)
            let k = a.shape.last!
            for (i, (g, r)) in zip(got, want).enumerated() {
                XCTAssertEqual(Double(g), r, accuracy: Double(k) * 4e-7 * 16, "\(label) element \(i)")
            }
        }
    }

    /// OpenBLAS, where it is installed, through the same threaded driver (the path `EMBER_BLAS=openblas` selects).
    func testOpenBLASPathMatchesFloat64() throws {
        guard BLAS.openBLAS != nil else { throw XCTSkip("OpenBLAS is not installed (libopenblas.so.0): its path is not tested here") }
        for (m, n, k) in [(97, 131, 67), (130, 70, 600), (70, 130, 600)] {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                check("OpenBLAS \(m)×\(n)×\(k) tA \(transA) tB \(transB)", m: m, n: n, k: k, transA: transA, transB: transB,
                      pad: 2, accumulate: true) { a, lda, b, ldb, c, ldc in
                    CPUGEMM.sgemm(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                                  c: c, ldc: ldc, accumulate: true, kernels: .blas)
                }
            }
        }
    }

    func testSelectionFromEnvironmentValues() {
        XCTAssertEqual(try GEMMSelection.parse(nil).get(), .builtIn)
        XCTAssertEqual(try GEMMSelection.parse("").get(), .builtIn)
        XCTAssertEqual(try GEMMSelection.parse("none").get(), .builtIn)
        XCTAssertEqual(try GEMMSelection.parse("OpenBLAS").get(), .openBLAS)
        XCTAssertEqual(try GEMMSelection.parse(nil, noBLAS: true).get(), .builtIn)
        XCTAssertEqual(GEMMSelection.parse("mkl"), .failure(GEMMSelectionError(message: "EMBER_BLAS=mkl is not one of none, builtin, openblas")))
        XCTAssertEqual(GEMMSelection.parse("openblas", noBLAS: true),
                       .failure(GEMMSelectionError(message: "EMBER_BLAS=openblas contradicts EMBER_NO_BLAS")))
    }
}
