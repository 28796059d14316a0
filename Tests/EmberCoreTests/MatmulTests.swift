import Foundation
import XCTest
@testable import EmberCore

/// `matmul` rules (1-D, 2-D, batched, broadcast batch dims), `dot`, `outer`, and PyTorch's error
/// messages for mismatches, against `op_fixtures.json` section `matmul` (PyTorch 2.13.0+cpu).
/// Products of k ≤ 4 terms: results within a few float32 ulps of MKL's (summation order differs).
final class MatmulTests: XCTestCase {
    private let tol = Tolerance.close(rtol: 1e-6, atol: 1e-6)

    func testMatmulShapesAndValues() {
        let shapeCases = OpFixtures.ids("matmul").filter { $0.contains("@") }
        XCTAssertEqual(shapeCases.count, 10, "all shape combinations present")
        for id in shapeCases {
            let a = OpFixtures.input("matmul", id, "a"), b = OpFixtures.input("matmul", id, "b")
            assertTensor(captured(id) { a.matmul(b) }, OpFixtures.case("matmul", id)["out"]!, "matmul \(id)", tol)
        }
        let c = OpFixtures.case("matmul", "mm_f64")
        let a = OpFixtures.input("matmul", "mm_f64", "a"), b = OpFixtures.input("matmul", "mm_f64", "b")
        assertTensor(captured("mm_f64") { a.mm(b) }, c["out"]!, "mm float64", .close(rtol: 1e-14, atol: 1e-15))
    }

    func testDotAndOuter() {
        let a = OpFixtures.input("matmul", "dot", "a"), b = OpFixtures.input("matmul", "dot", "b")
        assertTensor(captured("dot") { a.dot(b) }, OpFixtures.case("matmul", "dot")["out"]!, "dot", tol)
        let p = OpFixtures.input("matmul", "outer", "a"), q = OpFixtures.input("matmul", "outer", "b")
        // One product per element: exact.
        assertTensor(captured("outer") { p.outer(q) }, OpFixtures.case("matmul", "outer")["out"]!, "outer")
    }

    func testMismatchErrorMessages() {
        assertError("matmul", "err_2d") { _ = Tensor.ones([6, 3]).matmul(Tensor.ones([2, 3])) }
        assertError("matmul", "err_batched") { _ = Tensor.ones([2, 2, 3]).matmul(Tensor.ones([2, 2, 3])) }
        assertError("matmul", "err_1d") { _ = Tensor.ones([3]).matmul(Tensor.ones([4])) }
        assertError("matmul", "err_0d") { _ = Tensor(1.0).matmul(Tensor.ones([3])) }
        assertError("matmul", "err_batch_broadcast") { _ = Tensor.ones([2, 2, 3]).matmul(Tensor.ones([3, 3, 4])) }
        assertError("matmul", "err_dtype") { _ = Tensor.ones([2, 3]).matmul(Tensor.ones([3, 2], dtype: .float64)) }
    }
}
