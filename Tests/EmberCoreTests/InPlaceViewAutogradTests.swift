import EmberCore
import XCTest

/// Autograd through in-place ops on views (PyTorch's CopySlices rule): the base's gradient passes
/// through the op's backward on the view's region. Expected values follow from the chain rule and
/// match what PyTorch computes for the same code.
final class InPlaceViewAutogradTests: XCTestCase {
    func testMulInPlaceOnARowViewScalesOnlyThatRowsGradient() {
        // y = 2x; y[0] *= 3; loss = y.sum()  =>  dloss/dx = 6 on row 0, 2 elsewhere.
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
        let y = x * 2
        let row = y[0]
        row.mul_(3)
        XCTAssertEqual(y.toDoubles(), [6, 12, 6, 8])
        XCTAssertEqual(y.gradFn?.name, "CopySlices")
        y.sum().backward()
        XCTAssertEqual(x.grad?.toDoubles(), [6, 6, 2, 2])
    }

    func testMaskedFillThroughAViewBlocksTheMaskedGradient() {
        // y = x * 1; y[:, 1].masked_fill_(True) => d/dx of y.sum() is 0 in column 1.
        let x = Tensor([[1.0, 2.0], [3.0, 4.0]], requiresGrad: true)
        let y = x * 1.0
        let column = y[0..., 1]
        column.maskedFill_(Tensor([true, true]), 0)
        (y * y).sum().backward()
        XCTAssertEqual(x.grad?.toDoubles(), [2, 0, 6, 0])
    }

    func testCopyIntoAViewRoutesGradientToTheSource() {
        // z = zeros(3); z[1:3] = w  (copy_ into a view); loss = (z * [1, 2, 3]).sum()  =>  dw = [2, 3].
        let w = Tensor([5.0, 7.0], requiresGrad: true)
        let z = Tensor.zeros([3])
        z[1..<3] = w
        (z * Tensor([1.0, 2.0, 3.0])).sum().backward()
        XCTAssertEqual(w.grad?.toDoubles(), [2, 3])
    }
}
