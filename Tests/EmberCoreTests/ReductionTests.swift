import Foundation
import XCTest
@testable import EmberCore

/// Reductions with dim/keepdim against `op_fixtures.json` section `reductions` (PyTorch
/// 2.13.0+cpu): x is a float32 [2, 3, 4] randn tensor, i an int32 [3, 4] tensor with ties (first
/// index wins). Float sums may differ from ATen's cascade order by an ulp or two; indices,
/// integer and bool results must be exact.
final class ReductionTests: XCTestCase {
    private var x: Tensor { OpFixtures.input("reductions", "_inputs", "x") }
    private var i: Tensor { OpFixtures.input("reductions", "_inputs", "i") }
    private let sumTol = Tolerance.close(rtol: 1e-6, atol: 1e-6)

    private func out(_ id: String) -> Any { OpFixtures.case("reductions", id)["out"]! }
    private func check(_ id: String, _ tol: Tolerance = .exact, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () -> Tensor) {
        assertTensor(captured("reductions/\(id)", file: file, line: line, body), out(id), "reductions/\(id)", tol, file: file, line: line)
    }
    private func checkPair(_ id: String, _ tol: Tolerance = .exact, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () -> (values: Tensor, indices: Tensor)) {
        let exp = out(id) as! [Any]
        guard let r = captured("reductions/\(id)", file: file, line: line, body) else { return }
        assertTensor(r.values, exp[0], "reductions/\(id) values", tol, file: file, line: line)
        assertTensor(r.indices, exp[1], "reductions/\(id) indices", .exact, file: file, line: line)
    }

    func testSumMeanVarStdOverDims() {
        let x = self.x
        check("sum_all_n", sumTol) { x.sum() }
        check("mean_all_n", sumTol) { x.mean() }
        check("var_all_n", sumTol) { x.variance() }
        check("varb_all_n", sumTol) { x.variance(unbiased: false) }
        check("std_all_n", sumTol) { x.std() }
        check("prod_all_n", sumTol) { x.prod() }
        for dims in [[0], [1], [-1], [0, 2]] {
            for keep in [false, true] {
                let key = dims.map(String.init).joined(separator: "_") + (keep ? "_k" : "_n")
                check("sum_" + key, sumTol) { x.sum(dims: dims, keepdim: keep) }
                check("mean_" + key, sumTol) { x.mean(dims: dims, keepdim: keep) }
                check("var_" + key, sumTol) { x.variance(dims: dims, keepdim: keep) }
                check("varb_" + key, sumTol) { x.variance(dims: dims, unbiased: false, keepdim: keep) }
                check("std_" + key, sumTol) { x.std(dims: dims, keepdim: keep) }
                check("stdb_" + key, sumTol) { x.std(dims: dims, unbiased: false, keepdim: keep) }
            }
        }
    }

    func testMaxMinArgmaxProdLogsumexpPerDim() {
        let x = self.x
        for d in [0, 1, 2, -1] {
            for keep in [false, true] {
                let k = keep ? "True" : "False"
                checkPair("max_\(d)_\(k)") { x.max(d, keepdim: keep) }
                checkPair("min_\(d)_\(k)") { x.min(d, keepdim: keep) }
                check("argmax_\(d)_\(k)") { x.argmax(d, keepdim: keep) }
                check("prod_\(d)_\(k)", sumTol) { x.prod(d, keepdim: keep) }
                check("logsumexp_\(d)_\(k)", .transcendental) { x.logsumexp(d, keepdim: keep) }
            }
        }
        check("max_all") { x.max() }
        check("min_all") { x.min() }
        check("argmax_all") { x.argmax() }
        check("argmin_all") { x.argmin() }
    }

    func testCumsumSoftmaxLogSoftmaxOverAnyDim() {
        let x = self.x
        for d in [0, 1, 2, -1] {
            check("cumsum_\(d)", .float32) { x.cumsum(d) }
            check("softmax_\(d)", .transcendental) { x.softmax(d) }
            check("log_softmax_\(d)", .transcendental) { x.logSoftmax(d) }
        }
    }

    /// Integer inputs: ties resolve to the first index; sums/products/cumsums widen to int64.
    func testIntegerAndBoolReductions() {
        let i = self.i
        for d in [0, 1] {
            checkPair("int_max_\(d)") { i.max(d) }
            checkPair("int_min_\(d)") { i.min(d) }
            check("int_argmax_\(d)") { i.argmax(d) }
            check("int_argmin_\(d)") { i.argmin(d) }
            check("int_sum_\(d)") { i.sum(d) }
            check("int_prod_\(d)") { i.prod(d) }
            check("int_cumsum_\(d)") { i.cumsum(d) }
            check("all_\(d)") { (i != 0).all(d) }
            check("any_\(d)") { (i > 5).any(d) }
        }
        check("int_sum_all") { i.sum() }
        check("all_all") { (i != 0).all() }
        check("any_all") { (i > 5).any() }
        assertError("reductions", "mean_int_err") { _ = i.mean() }
    }

    func testTopkAndBincount() {
        let x = self.x
        for (k, d, largest) in [(2, -1, true), (3, 1, true), (1, 0, false), (4, -1, false)] {
            checkPair("topk_\(k)_\(d)_\(largest ? "True" : "False")") { x.topk(k, dim: d, largest: largest) }
        }
        // Row [2, 2, 0, 5] has a tie for second place: PyTorch's partial sort returns index 1,
        // Ember the first index (0). Values must match; indices must point at those values.
        let exp = out("int_topk_2_1") as! [Any]
        if let r = captured("int_topk_2_1", { self.i.topk(2, dim: 1) }) {
            assertTensor(r.values, exp[0], "reductions/int_topk_2_1 values")
            XCTAssertEqual(self.i.gather(1, r.indices).to(.int64).toInt64s(), r.values.to(.int64).toInt64s(), "int_topk_2_1: indices select the values")
        }
        let b = OpFixtures.input("reductions", "bincount", "b")
        check("bincount") { b.bincount() }
        check("bincount_min") { b.bincount(minlength: 9) }
        check("bincount_w") { b.bincount(weights: OpFixtures.input("reductions", "bincount_w", "w")) }
    }
}
