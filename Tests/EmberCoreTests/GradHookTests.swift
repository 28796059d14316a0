import XCTest
@testable import EmberCore

/// `register_post_accumulate_grad_hook` and the engine's final callbacks (what data-parallel
/// training builds on): a hook runs once per backward after the leaf's `.grad` holds the summed
/// gradient; queued callbacks run at the end of the pass.
final class GradHookTests: XCTestCase {
    func testPostAccumulateGradHookSeesTheSummedGradientOnce() throws {
        let w = Tensor([1.0, 2.0]).requiresGrad_()
        var seen: [[Float]] = []
        var order: [String] = []
        let handle = w.registerPostAccumulateGradHook { t in
            seen.append(t.grad!.toArray(Float.self))
            order.append("hook")
            Autograd.queueCallback { order.append("callback") }
        }
        // w used twice: the hook runs once, with both paths' sum.
        ((w * 3).sum() + (w * w).sum()).backward()
        XCTAssertEqual(seen, [[5, 7]])
        XCTAssertEqual(order, ["hook", "callback"])
        ((w * 1).sum()).backward()
        XCTAssertEqual(seen, [[5, 7], [6, 8]])   // accumulated into .grad before the hook
        handle.remove()
        ((w * 1).sum()).backward()
        XCTAssertEqual(seen.count, 2)
    }

    func testHooksOnlyOnLeavesThatRequireGrad() {
        XCTAssertThrowsError(try withErrorCapture { _ = Tensor([1.0]).registerPostAccumulateGradHook { _ in } }) { error in
            XCTAssertTrue("\(error)".contains("doesn't require gradient"), "\(error)")
        }
        let leaf = Tensor([1.0]).requiresGrad_()
        XCTAssertThrowsError(try withErrorCapture { _ = (leaf * 2).registerPostAccumulateGradHook { _ in } }) { error in
            XCTAssertEqual("\(error)", "RuntimeError: post accumulate grad hooks cannot be registered on non-leaf tensors")
        }
        XCTAssertThrowsError(try withErrorCapture { Autograd.queueCallback {} }) { error in
            XCTAssertEqual("\(error)", "RuntimeError: Final callbacks can only be installed during backward pass.")
        }
        XCTAssertFalse(Autograd.isInBackward)
    }
}
