import EmberCore
import EmberTestSupport
import Foundation
import XCTest

// Autograd: every differentiable op of the core checked against central finite differences in
// float64 (the rule torch.autograd.gradcheck uses: eps 1e-6, atol 1e-5, rtol 1e-3), plus the engine's
// behaviour and error messages in PyTorch's wording (torch/csrc/autograd/engine.cpp, saved_variable.cpp).
// `grid` and `gradcheck` are in EmberTestSupport (GradCheck.swift); the functions and layers of EmberNN
// (GELU, layerNorm, linear, embedding) are checked in EmberNNTests' NNAutogradTests.

final class AutogradTests: XCTestCase {
    let m23 = (shape: [2, 3], values: grid([2, 3]))
    let m23b = (shape: [2, 3], values: grid([2, 3], salt: 1))
    let pos23 = (shape: [2, 3], values: grid([2, 3], lo: 0.3, hi: 2.0, salt: 2))

    func testElementwiseGradients() {
        gradcheck("add broadcast", [m23, ([3], grid([3], salt: 5))]) { $0[0] + $0[1] }
        gradcheck("sub broadcast", [m23, ([2, 1], grid([2, 1], salt: 5))]) { $0[0] - $0[1] }
        gradcheck("mul", [m23, m23b]) { $0[0] * $0[1] }
        gradcheck("div", [m23, pos23]) { $0[0] / $0[1] }
        gradcheck("scalar ops", [m23]) { 2.5 - $0[0] * 3 + 1 / ($0[0] * $0[0] + 1) }
        gradcheck("neg", [m23]) { -$0[0] }
        gradcheck("exp", [m23]) { $0[0].exp() }
        gradcheck("log", [pos23]) { $0[0].log() }
        gradcheck("sqrt", [pos23]) { $0[0].sqrt() }
        gradcheck("rsqrt", [pos23]) { $0[0].rsqrt() }
        gradcheck("sigmoid", [m23]) { $0[0].sigmoid() }
        gradcheck("tanh", [m23]) { $0[0].tanh() }
        gradcheck("relu", [m23]) { $0[0].relu() }
        gradcheck("silu", [m23]) { $0[0].silu() }
        gradcheck("sin cos", [m23]) { $0[0].sin() * $0[0].cos() }
        gradcheck("abs", [m23]) { $0[0].abs() }
        gradcheck("erf", [m23]) { $0[0].erf() }
        gradcheck("square reciprocal", [pos23]) { $0[0].square() + $0[0].reciprocal() }
        gradcheck("pow scalar", [pos23]) { $0[0].pow(2.5) }
        gradcheck("pow 2", [m23]) { $0[0].pow(2) }
        gradcheck("pow tensor", [pos23, m23]) { $0[0].pow($0[1]) }
        gradcheck("clamp", [m23]) { $0[0].clamp(min: -0.7, max: 0.9) }
        gradcheck("clamp min", [m23]) { $0[0].clamp(min: 0.1) }
        gradcheck("maximum minimum", [m23, m23b]) { $0[0].maximum($0[1]) + $0[0].minimum($0[1]) * 2 }
        gradcheck("gelu erf", [m23]) { $0[0].gelu() }
        gradcheck("gelu tanh", [m23]) { $0[0].gelu(approximate: "tanh") }
    }

    /// sign() values (its float kernels once wrote Int results into float storage) and abs' gradient.
    func testSignAndAbs() {
        for dt in [DType.float32, .float64] {
            XCTAssertEqual(Tensor([-2.0, 0.0, 3.5], dtype: dt).sign().toDoubles(), [-1, 0, 1], "\(dt)")
        }
        XCTAssertEqual(Tensor([-2, 0, 7]).sign().toDoubles(), [-1, 0, 1])
        let x = Tensor([-2.0, 3.0], requiresGrad: true)
        x.abs().sum().backward()
        XCTAssertEqual(x.grad?.toDoubles(), [-1, 1])
    }

    func testReductionGradients() {
        gradcheck("sum", [m23]) { $0[0].sum() }
        gradcheck("sum dim", [m23]) { $0[0].sum(1) }
        gradcheck("sum dims keepdim", [m23]) { $0[0].sum(dims: [0], keepdim: true) }
        gradcheck("mean", [m23]) { $0[0].mean() }
        gradcheck("mean dim", [m23]) { $0[0].mean(-1, keepdim: true) }
        gradcheck("variance", [m23]) { $0[0].variance(dims: [1], unbiased: false) }
        gradcheck("std", [m23]) { $0[0].std(1) }
        gradcheck("prod", [pos23]) { $0[0].prod(1) }
        gradcheck("max dim", [m23]) { $0[0].max(1).values }
        gradcheck("min dim", [m23]) { $0[0].min(0, keepdim: true).values }
        gradcheck("logsumexp", [m23]) { $0[0].logsumexp(1) }
        gradcheck("cumsum", [m23]) { $0[0].cumsum(1) }
        gradcheck("softmax", [m23]) { $0[0].softmax(-1) }
        gradcheck("softmax dim 0", [m23]) { softmax($0[0], dim: 0) }
        gradcheck("logSoftmax", [m23]) { $0[0].logSoftmax(1) }
    }

    func testMatmulGradients() {
        gradcheck("mm", [m23, ([3, 4], grid([3, 4], salt: 4))]) { $0[0].matmul($0[1]) }
        gradcheck("batched", [([2, 2, 3], grid([2, 2, 3])), ([2, 3, 2], grid([2, 3, 2], salt: 1))]) { $0[0].matmul($0[1]) }
        gradcheck("broadcast batch", [([2, 2, 3], grid([2, 2, 3])), ([3, 2], grid([3, 2], salt: 1))]) { $0[0].matmul($0[1]) }
        gradcheck("broadcast batch other side", [([1, 2, 3], grid([1, 2, 3])), ([2, 1, 3, 2], grid([2, 1, 3, 2], salt: 1))]) { $0[0].matmul($0[1]) }
        gradcheck("vector matrix", [([3], grid([3])), ([3, 2], grid([3, 2], salt: 1))]) { $0[0].matmul($0[1]) }
        gradcheck("matrix vector", [m23, ([3], grid([3], salt: 1))]) { $0[0].matmul($0[1]) }
        gradcheck("dot", [([3], grid([3])), ([3], grid([3], salt: 1))]) { $0[0].dot($0[1]) }
        gradcheck("bmm", [([2, 2, 3], grid([2, 2, 3])), ([2, 3, 2], grid([2, 3, 2], salt: 1))]) { $0[0].bmm($0[1]) }
    }

    func testViewGradients() {
        let x = (shape: [2, 3, 4], values: grid([2, 3, 4]))
        gradcheck("transpose", [x]) { $0[0].transpose(0, 2) * Tensor(array: grid([4, 3, 2], salt: 9), shape: [4, 3, 2]) }
        gradcheck("permute", [x]) { $0[0].permute(2, 0, 1).contiguous() }
        gradcheck("T", [m23]) { $0[0].T.matmul($0[0]) }
        gradcheck("slice step", [x]) { $0[0].slice(2, start: 1, end: 4, step: 2) }
        gradcheck("subscript range", [x]) { $0[0][0..., 1..<3] }
        gradcheck("select", [x]) { $0[0].select(1, 2) }
        gradcheck("subscript int", [x]) { $0[0][1] }
        gradcheck("narrow", [x]) { $0[0].narrow(2, start: 1, length: 2) }
        gradcheck("expand", [([3, 1], grid([3, 1]))]) { $0[0].expand([2, 3, 4]) }
        gradcheck("broadcastTo", [([1, 4], grid([1, 4]))]) { $0[0].broadcastTo([3, 4]) }
        gradcheck("view reshape", [x]) { $0[0].view(6, 4).reshape([4, 6]) }
        gradcheck("reshape of non-contiguous", [x]) { $0[0].transpose(1, 2).reshape([2, 12]) }
        gradcheck("unsqueeze squeeze flatten", [x]) { $0[0].unsqueeze(1).squeeze(1).flatten(1) }
        gradcheck("unflatten", [m23]) { $0[0].unflatten(1, [3, 1]) }
        gradcheck("split chunk unbind", [x]) { ts in
            let a = ts[0].split(2, dim: 2), b = ts[0].chunk(3, dim: 1), c = ts[0].unbind(0)
            return Tensor.cat([a[1].flatten(), b[0].flatten() * 2, c[1].flatten() * 3])
        }
        gradcheck("flip", [x]) { $0[0].flip(1) }
        gradcheck("triu tril", [([3, 3], grid([3, 3]))]) { $0[0].triu(diagonal: 1) + $0[0].tril() * 2 }
        gradcheck("clone contiguous", [x]) { $0[0].transpose(0, 1).contiguous().clone() }
    }

    func testJoinAndIndexGradients() {
        gradcheck("cat", [m23, ([1, 3], grid([1, 3], salt: 1))]) { Tensor.cat([$0[0], $0[1]], dim: 0) }
        gradcheck("cat dim 1", [m23, ([2, 1], grid([2, 1], salt: 1))]) { Tensor.cat([$0[0], $0[1]], dim: -1) }
        gradcheck("stack", [m23, m23b]) { Tensor.stack([$0[0], $0[1]], dim: 1) }
        let idx = Tensor([2, 0, 2])
        gradcheck("indexSelect repeated", [m23]) { $0[0].indexSelect(1, idx) }
        gradcheck("gather", [m23]) { $0[0].gather(1, Tensor([[0, 0], [2, 1]])) }
        let mask = Tensor([[true, false, true], [false, false, true]])
        gradcheck("maskedFill", [m23]) { $0[0].maskedFill(mask, -2) }
        gradcheck("maskedFill broadcast", [m23]) { $0[0].maskedFill(Tensor([false, true, false]), 0) }
        gradcheck("where", [m23, ([3], grid([3], salt: 1))]) { Tensor.where(mask, $0[0], $0[1]) }
        gradcheck("where scalar", [m23]) { Tensor.where(mask, $0[0], 0.5) }
        gradcheck("scatterAdd", [m23, ([2, 2], grid([2, 2], salt: 1))]) { $0[0].scatterAdd(1, Tensor([[0, 0], [2, 1]]), $0[1]) }
        gradcheck("topk", [m23]) { $0[0].topk(2).values }
        // Through float32 the objective is rounded to ~1e-7, so the step must be large (f is linear).
        gradcheck("to float32 and back", [m23], eps: 1e-2) { ($0[0].to(.float32) * 2).to(.float64) }
    }

    /// In-place ops inside the graph (non-leaf): gradients flow through the recorded history.
    func testInPlaceOnNonLeafGradients() {
        gradcheck("maskedFill_", [m23]) { ts in
            let y = ts[0] * 2
            y.maskedFill_(Tensor([true, false, false]), -1)
            return y
        }
        gradcheck("add_ mul_", [m23, m23b]) { ts in
            let y = ts[0] * 1
            y.add_(ts[1], alpha: 2)
            y.mul_(ts[1])
            return y
        }
        gradcheck("div_ scalar", [m23]) { ts in
            let y = ts[0].exp() + 0
            y.div_(4)
            return y
        }
    }

    /// Gradients accumulate over two backward calls (retain_graph); autograd.grad does not touch .grad.
    func testAccumulationAndRetainGraph() throws {
        let w = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let loss = (w * w).sum()
        loss.backward(retainGraph: true)
        XCTAssertEqual(w.grad?.toDoubles(), [2, 4, 6])
        loss.backward()
        XCTAssertEqual(w.grad?.toDoubles(), [4, 8, 12], "second backward accumulates")
        // A third backward through the freed graph: PyTorch's RuntimeError.
        XCTAssertThrowsError(try withErrorCapture { loss.backward() }) { error in
            XCTAssertTrue("\(error)".hasPrefix("RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed)."), "\(error)")
        }
        XCTAssertEqual(w.grad?.toDoubles(), [4, 8, 12])
        // Paths that join sum their gradients.
        let x = Tensor([3.0], requiresGrad: true)
        let y = x * x
        (y + y.exp() * 0 + x).sum().backward()
        XCTAssertEqual(x.grad?.toDoubles(), [7])
        // retain_grad on a non-leaf.
        let a = Tensor([1.0, 2.0], requiresGrad: true)
        let h = a * 3
        h.retainGrad()
        (h * h).sum().backward()
        XCTAssertEqual(h.grad?.toDoubles(), [6, 12])
        XCTAssertEqual(a.grad?.toDoubles(), [18, 36])
        // Errors: non-scalar output without gradient; tensor that does not require grad.
        XCTAssertThrowsError(try withErrorCapture { (a * 2).backward() }) {
            XCTAssertEqual("\($0)", "RuntimeError: grad can be implicitly created only for scalar outputs")
        }
        XCTAssertThrowsError(try withErrorCapture { Tensor([1.0]).sum().backward() }) {
            XCTAssertEqual("\($0)", "RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
        }
    }

    /// noGrad records nothing; detach shares storage and cuts the graph; requires_grad rules.
    func testNoGradAndDetach() throws {
        let w = Tensor([1.0, 2.0], requiresGrad: true)
        let y = noGrad { w * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.gradFn)
        XCTAssertTrue(GradMode.isEnabled)
        let z = enableGrad { w * 2 }
        XCTAssertEqual(z.gradFn?.name, "MulBackward0")
        let nested = noGrad { enableGrad { w * 2 } }
        XCTAssertTrue(nested.requiresGrad, "enable_grad inside no_grad records")

        let h = w * 3
        let d = h.detach()
        XCTAssertFalse(d.requiresGrad)
        XCTAssertTrue(d.isLeaf)
        noGrad { d.fill_(7) }
        XCTAssertEqual(h.toDoubles(), [7, 7], "detach shares storage")
        XCTAssertThrowsError(try withErrorCapture { h.requiresGrad = false }) {
            XCTAssertEqual("\($0)", "RuntimeError: you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().")
        }
        XCTAssertThrowsError(try withErrorCapture { Tensor([1, 2]).requiresGrad = true }) {
            XCTAssertEqual("\($0)", "RuntimeError: only Tensors of floating point dtype can require gradients")
        }
        // detach_() cuts a non-leaf in place.
        let k = w * 2
        k.detach_()
        XCTAssertTrue(k.isLeaf && !k.requiresGrad)
    }

    /// PyTorch refuses in-place ops on a leaf that requires grad (and on its views) under grad mode.
    func testLeafInPlaceErrors() throws {
        let w = Tensor([1.0, 2.0], requiresGrad: true)
        XCTAssertThrowsError(try withErrorCapture { w.add_(1) }) {
            XCTAssertEqual("\($0)", "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.")
        }
        XCTAssertThrowsError(try withErrorCapture { w.fill_(0) }) {
            XCTAssertEqual("\($0)", "RuntimeError: a leaf Variable that requires grad is being used in an in-place operation.")
        }
        XCTAssertThrowsError(try withErrorCapture { w[0..<1].mul_(2) }) {
            XCTAssertEqual("\($0)", "RuntimeError: a view of a leaf Variable that requires grad is being used in an in-place operation.")
        }
        XCTAssertEqual(w.toDoubles(), [1, 2], "refused ops write nothing")
        noGrad { w.add_(1) }
        XCTAssertEqual(w.toDoubles(), [2, 3], "allowed under no_grad (optimizer updates)")
    }

    /// A tensor saved for backward and then modified in place: PyTorch's message names the tensor
    /// type and shape, the node that produced it, and both versions.
    func testInPlaceOnSavedTensorError() throws {
        let hint = " Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True)."
        // exp saves its result (torch: result), so modifying the output breaks the backward.
        let x = Tensor([1.0, 2.0, 3.0], dtype: .float32, requiresGrad: true)
        let y = x.exp()
        y.add_(1)
        XCTAssertThrowsError(try withErrorCapture { y.sum().backward() }) {
            XCTAssertEqual("\($0)", "RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [3]], which is output 0 of ExpBackward0, is at version 1; expected version 0 instead." + hint)
        }
        // sigmoid likewise (the classic example).
        let a = Tensor([[0.5, -1.0]], requiresGrad: true)
        let s = a.sigmoid()
        s.mul_(2)
        XCTAssertThrowsError(try withErrorCapture { s.sum().backward() }) {
            XCTAssertEqual("\($0)", "RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [1, 2]], which is output 0 of SigmoidBackward0, is at version 1; expected version 0 instead." + hint)
        }
        // A saved input without history (no grad_fn): no "which is output" part.
        let c = Tensor([1.0, 2.0])
        let w = Tensor([3.0, 4.0], requiresGrad: true)
        let p = c * w
        c.add_(1)
        XCTAssertThrowsError(try withErrorCapture { p.sum().backward() }) {
            XCTAssertEqual("\($0)", "RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]] is at version 1; expected version 0 instead." + hint)
        }
        // Ops that do not save the modified tensor are unaffected (torch: add saves nothing).
        let q = Tensor([1.0, 2.0], requiresGrad: true)
        let r = q * 2
        let sum = r + 1
        r.add_(5)
        sum.sum().backward()
        XCTAssertEqual(q.grad?.toDoubles(), [2, 2])
        // exp saves only its result: modifying its input afterwards is fine (torch too).
        let u = Tensor([0.5], requiresGrad: true)
        let hIn = u * 1
        let e = hIn.exp()
        hIn.add_(1)
        e.sum().backward()
        XCTAssertEqual(u.grad!.toDoubles()[0], Foundation.exp(0.5), accuracy: 1e-6)
    }
}
