import Foundation
import XCTest
@testable import EmberCore

/// Boolean-mask and integer-array indexing (reads and assignment), gather, indexSelect, nonzero,
/// oneHot against `op_fixtures.json` section `elementwise` (PyTorch 2.13.0+cpu). `probas` is a
/// [2, 3, 5] softmax output and `targets` [2, 3], as in the book's chapter 5
/// (`probas[text_idx, [0, 1, 2], targets[text_idx]]`).
final class IndexingTests: XCTestCase {
    private let all = TensorIndex.all
    private let newAxis = TensorIndex.newAxis
    private func input(_ id: String, _ name: String) -> Tensor { OpFixtures.input("elementwise", id, name) }
    private func check(_ id: String, file: StaticString = #filePath, line: UInt = #line, _ body: () -> Tensor) {
        assertTensor(captured("elementwise/\(id)", file: file, line: line, body),
                     OpFixtures.case("elementwise", id)["out"]!, "elementwise/\(id)", .exact, file: file, line: line)
    }

    func testBooleanMaskReadAndAssign() {
        let x = input("_inputs", "x")
        check("bool_mask_get") { x[x > 0] }
        check("bool_mask_get_2d_row") { x[Tensor([false, true])] }
        check("bool_mask_set") {
            let t = Tensor([[1, 0, 1], [2, 1, 3]])
            t[t == 1] = 2
            return t
        }
        check("bool_mask_set_float") {
            let t = x.clone()
            t[t < 0] = 0.5
            return t
        }
    }

    /// The book's chapter 5 target-probability lookup and numpy-style placement of advanced indices.
    func testIntegerArrayIndexing() {
        let probas = input("_probas", "probas"), targets = input("_probas", "targets")
        for ti in [0, 1] {
            check("probas_text_\(ti)") { probas[ti, [0, 1, 2], targets[ti]] }
        }
        check("probas_arange") { probas[Tensor.arange(2)[all, newAxis], Tensor.arange(3), targets] }
        assertError("elementwise", "probas_broadcast_err") { _ = probas[[0, 1], [0, 1, 2], targets] }
        check("adv_after_slice") { probas[all, [2, 0]] }
        check("adv_separated") { probas[[0, 1], all, [4, 0]] }
        check("adv_set") {
            let t = probas.clone()
            t[[0, 1], [2, 0]] = -1.0
            return t
        }
    }

    func testGatherIndexSelectNonzeroOneHot() {
        let x = input("_inputs", "x")
        check("gather_1") { x.gather(1, self.input("gather_1", "idx")) }
        check("gather_0") { x.gather(0, self.input("gather_0", "idx")) }
        check("index_select_1") { x.indexSelect(1, Tensor([2, 0, 2])) }
        check("index_select_0") { x.indexSelect(0, Tensor([1])) }
        assertError("elementwise", "index_oob_err") { _ = x.indexSelect(1, Tensor([3])) }
        check("nonzero") { self.input("_bools", "m1").nonzero() }
        check("nonzero_float") { Tensor([0.0, 1.5, 0.0, -2.0]).nonzero() }
        check("one_hot") { Tensor([3, 0, 1]).oneHot() }
        check("one_hot_n") { Tensor([[1], [0]]).oneHot(numClasses: 4) }
    }
}
