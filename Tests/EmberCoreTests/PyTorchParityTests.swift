import Foundation
import XCTest
@testable import EmberCore

/// Issue #12 item 8: results that must equal PyTorch's to the last bit or raise PyTorch's error.
final class PyTorchParityTests: XCTestCase {
    private func message(_ body: () -> Void) -> String? {
        do { try withErrorCapture(body); return nil } catch let e as EmberError { return e.message } catch { return "\(error)" }
    }

    /// Book chapter 3.3.1: `torch.softmax(attn_scores_2, dim=0).sum()` prints `tensor(1.)`, while
    /// the simple normalisation `attn_scores_2 / attn_scores_2.sum()` sums to `tensor(1.0000)`.
    func testSoftmaxRowSumPrintsLikeTheBook() {
        let inputs = Tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                             [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
        let query = inputs[1]
        let scores = Tensor.empty([6])
        for i in 0..<6 { scores[i] = (inputs[i] * query).sum() }
        XCTAssertEqual("\(softmax(scores, dim: 0).sum())", "tensor(1.)")
        XCTAssertEqual("\((scores / scores.sum()).sum())", "tensor(1.0000)")
    }

    /// Rows shorter than 16 add as four interleaved accumulators (SumKernel.cpp `row_sum`):
    /// `(((x0 + x4) + x5) + x1) + x2) + x3`, not left to right. With x0..x5 = 2⁻²⁴, 1, 2⁻²⁴, …
    /// left to right stays at 1 (every 2⁻²⁴ is a tie to even), PyTorch's order gives 1 + 2⁻²².
    func testShortRowSumUsesPyTorchsInterleavedOrder() {
        let e = Float.ulpOfOne / 2   // 2⁻²⁴
        let x = Tensor(array: [e, 1, e, e, e, e])
        XCTAssertEqual(x.sum().toFloats(), [1 + 2 * Float.ulpOfOne])
        XCTAssertEqual(x.mean().toFloats(), [(1 + 2 * Float.ulpOfOne) / 6], "mean: the float32 sum divided in float32")
        // The same along the last dim of a matrix (one row per output).
        XCTAssertEqual(Tensor.stack([x, x], dim: 0).sum(1).toFloats(), [1 + 2 * Float.ulpOfOne, 1 + 2 * Float.ulpOfOne])
    }

    /// Rows of ≥ 16 add as 16-lane vectors, the 4 vector accumulators folded into the first, then
    /// the scalar tail, then the lanes in turn: for 1 followed by nineteen 2⁻²⁴ the 16 vector
    /// elements stay 1 + 15·2⁻²⁴ in their lanes; the tail (4·2⁻²⁴ = 2⁻²², exact) comes first, then
    /// lane 0 (1) and each 2⁻²⁴ lane, which are ties rounding to the even 1 + 2⁻²².
    func testLongRowSumAddsTailBeforeLanes() {
        let e = Float.ulpOfOne / 2
        let x = Tensor(array: [Float(1)] + [Float](repeating: e, count: 19))
        XCTAssertEqual(x.sum().toFloats(), [1 + 2 * Float.ulpOfOne])
    }

    /// In-place ops into an expanded tensor (elements sharing memory) raise PyTorch's RuntimeError
    /// (`assert_no_internal_overlap`) and change nothing.
    func testInPlaceWriteIntoOverlappingTensorRaisesPyTorchsError() {
        let want = "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation."
        let base = Tensor([1.0, 2.0, 3.0])
        let expanded = base.expand([2, 3])
        XCTAssertEqual(message { expanded.maskedFill_(Tensor([[true, false, false], [false, true, false]]), 0) }, want, "maskedFill_")
        XCTAssertEqual(message { expanded.add_(Tensor.ones([2, 3])) }, want, "add_")
        XCTAssertEqual(message { expanded.add_(1.0) }, want, "add_(scalar)")
        XCTAssertEqual(message { expanded.mul_(2.0) }, want, "mul_")
        XCTAssertEqual(message { expanded.copy_(Tensor.zeros([2, 3])) }, want, "copy_")
        XCTAssertEqual(base.toFloats(), [1, 2, 3], "nothing was written")
        XCTAssertNil(message { expanded.clone().add_(1.0) }, "a clone can be written")
    }
}
