import XCTest
@testable import EmberCore

/// The one-row product `x · Wᵀ` (generation's decode step) takes the streaming GEMV; its result must
/// equal the exact product within float32 summation error: |got − exact| ≤ 2·γₖ·Σ|x·w| with
/// γₖ = k·u/(1 − k·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
final class DecodeGEMVTests: XCTestCase {
    func testOneRowTimesTransposedWeight() {
        manualSeed(5)
        for (k, n) in [(1, 1), (7, 5), (16, 4), (31, 33), (768, 2304), (769, 1001), (3072, 768)] {
            let x = Tensor.randn([1, k]), w = Tensor.randn([n, k])
            let got = x.matmul(w.t()).toDoubles()
            let xd = x.toDoubles(), wd = w.toDoubles()
            let u = 1.0 / Double(1 << 24), gamma = Double(k) * u / (1 - Double(k) * u)
            for j in 0..<n {
                var exact = 0.0, abs = 0.0
                for p in 0..<k { exact += xd[p] * wd[j * k + p]; abs += Swift.abs(xd[p] * wd[j * k + p]) }
                XCTAssertLessThanOrEqual(Swift.abs(got[j] - exact), 2 * gamma * abs, "k \(k) n \(n) column \(j)")
            }
        }
        // Through Linear's batched layout ([1, 1, k] input) and a weight sliced from a wider matrix.
        let wide = Tensor.randn([40, 100]), w = wide[0..., ..<64], x = Tensor.randn([1, 1, 64])
        let got = x.matmul(w.t()), ref = x.double().matmul(w.double().t())
        XCTAssertLessThan((got.double() - ref).abs().max().item(), 1e-4)
    }
}
