import EmberCore
import EmberNN
import Foundation
import XCTest

// Layers against PyTorch's definitions (torch.nn docs) and seeded values from the book's cases.

final class LayerTests: XCTestCase {
    /// Linear init draws weight then bias with PyTorch's bounds: the seed-123 weights of the
    /// buffers fixture (three bias-free Linear(3, 2)) and C64's layer 0 (with bias) prove the order.
    func testLinearInitAndForward() throws {
        manualSeed(123)
        let q = Linear(3, 2, bias: false)
        XCTAssertEqual(q.weight.toFloats(), [-0.23542964458465576, 0.019124476239085197, -0.28674593567848206,
                                             0.21772661805152893, -0.491934210062027, 0.423223078250885].map { Float($0) },
                       "buffers fixture ca_without_buffer W_query.weight")
        let lin = Linear(3, 2)
        let bound = 1 / 3.0.squareRoot()
        XCTAssertTrue((lin.weight.toDoubles() + lin.bias!.toDoubles()).allSatisfy { Swift.abs($0) <= bound })
        // y = x·Wᵀ + b, checked by hand.
        noGrad {
            lin.weight.copy_(Tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]))
            lin.bias!.copy_(Tensor([0.5, -0.5]))
        }
        XCTAssertEqual(lin(Tensor([[1.0, 1.0, 1.0]])).toDoubles(), [6.5, -1])
        XCTAssertEqual(lin(Tensor([1.0, 0.0, 2.0])).toDoubles(), [7.5, -1.5], "1-D input")
        // grad_fn names as PyTorch prints them.
        XCTAssertEqual(lin(Tensor.ones([4, 3])).gradFn?.name, "AddmmBackward0")
        XCTAssertEqual(lin(Tensor.ones([2, 4, 3])).gradFn?.name, "ViewBackward0")
        XCTAssertEqual(q(Tensor.ones([4, 3])).gradFn?.name, "MmBackward0")
        XCTAssertEqual(q(Tensor.ones([2, 4, 3])).gradFn?.name, "UnsafeViewBackward0")
        XCTAssertEqual(lin(Tensor.ones([2, 2, 4, 3])).shape, [2, 2, 4, 2])
        XCTAssertThrowsError(try withErrorCapture { _ = lin(Tensor.ones([6, 4])) }) {
            XCTAssertEqual("\($0)", "RuntimeError: mat1 and mat2 shapes cannot be multiplied (6x4 and 3x2)")
        }
        // Linear on meta: shapes only, nothing drawn.
        let meta = Linear(4, 5, device: .meta)
        XCTAssertTrue(meta.weight.isMeta)
        XCTAssertEqual(meta(Tensor.empty([2, 4], device: .meta)).shape, [2, 5])
        XCTAssertEqual(Linear(2, 2, dtype: .float64).weight.dtype, .float64)
    }

    /// Embedding: lookup shape, backward accumulates repeated rows, PyTorch's errors.
    func testEmbedding() throws {
        let e = Embedding(4, 2)
        noGrad { e.weight.copy_(Tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])) }
        let out = e(Tensor([[1, 3], [1, 0]]))
        XCTAssertEqual(out.shape, [2, 2, 2])
        XCTAssertEqual(out.toDoubles(), [2, 3, 6, 7, 2, 3, 0, 1])
        out.sum().backward()
        XCTAssertEqual(e.weight.grad?.toDoubles(), [1, 1, 2, 2, 0, 0, 1, 1])
        XCTAssertThrowsError(try withErrorCapture { _ = e(Tensor([4])) }) {
            XCTAssertEqual("\($0)", "IndexError: index out of range in self")
        }
        XCTAssertThrowsError(try withErrorCapture { _ = e(Tensor([1.0])) }) {
            XCTAssertEqual("\($0)", "RuntimeError: Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got torch.FloatTensor instead (while checking arguments for embedding)")
        }
    }

    /// LayerNorm: biased variance, eps inside the root; weight/bias applied; no-affine variant.
    func testLayerNorm() throws {
        let ln = LayerNorm(4)
        XCTAssertEqual(Array(ln.stateDict().keys), ["weight", "bias"])
        let x = Tensor([[1.0, 2.0, 3.0, 4.0]])
        let expected = [1.0, 2, 3, 4].map { ($0 - 2.5) / (1.25 + 1e-5).squareRoot() }
        assertValues(ln(x), expected, tol: 1e-6, "LayerNorm([1,2,3,4])")
        noGrad { ln.weight!.fill_(2); ln.bias!.fill_(1) }
        assertValues(ln(x), expected.map { 2 * $0 + 1 }, tol: 1e-6, "affine LayerNorm")
        let plain = LayerNorm([2, 2], elementwiseAffine: false)
        XCTAssertEqual(plain.parameters().count, 0)
        XCTAssertEqual(plain.description, "LayerNorm((2, 2), eps=1e-05, elementwise_affine=False)")
        assertValues(plain(Tensor([[1.0, 2.0], [3.0, 4.0]])), expected, tol: 1e-6, "LayerNorm over two dims")
        XCTAssertThrowsError(try withErrorCapture { _ = ln(Tensor.ones([2, 3])) }) {
            XCTAssertEqual("\($0)", "RuntimeError: Given normalized_shape=[4], expected input with shape [*, 4], but got input of size[2, 3]")
        }
    }

    /// Dropout: inverted scaling, identity in eval, p = 0 and p = 1, argument check (PyTorch's ValueError).
    func testDropout() throws {
        manualSeed(1)
        let d = Dropout(0.25)
        let y = d(Tensor.ones([1000]))
        let kept = y.toDoubles().filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { Swift.abs($0 - 1 / 0.75) < 1e-6 }, "kept values scaled by 1/(1-p)")
        XCTAssertEqual(Double(kept.count) / 1000, 0.75, accuracy: 0.05)
        d.eval()
        let x = Tensor.rand(3, 3)
        XCTAssertTrue(d(x).equal(x))
        XCTAssertTrue(Dropout(0)(x).equal(x))
        XCTAssertEqual(Dropout(1)(Tensor.ones([4])).toDoubles(), [0, 0, 0, 0], "p = 1 zeroes everything")
        XCTAssertThrowsError(try withErrorCapture { _ = Dropout(1.5) }) {
            XCTAssertEqual("\($0)", "ValueError: dropout probability has to be between 0 and 1, but got 1.5")
        }
        // The gradient goes through the same mask.
        manualSeed(5)
        let w = Tensor.ones([8]).requiresGrad_()
        let out = Dropout(0.5)(w)
        out.sum().backward()
        XCTAssertEqual(w.grad?.toDoubles(), out.toDoubles())
    }

    /// Activation modules: values from the definitions (erf GELU and the book's tanh form).
    func testActivations() {
        let x = Tensor([-1.0, 0.0, 1.0, 2.0]).to(.float64)
        assertValues(GELU()(x), [-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416], tol: 1e-12, "GELU erf")
        assertValues(GELU(approximate: "tanh")(x), [-0.15880800939172324, 0, 0.8411919906082768, 1.954597694087775], tol: 1e-12, "GELU tanh")
        XCTAssertEqual(ReLU()(x).toDoubles(), [0, 0, 1, 2])
        assertValues(Sigmoid()(x), [0.2689414213699951, 0.5, 0.7310585786300049, 0.8807970779778823], tol: 1e-12, "Sigmoid")
        assertValues(Tanh()(x), [-0.7615941559557649, 0, 0.7615941559557649, 0.9640275800758169], tol: 1e-12, "Tanh")
        assertValues(Softmax(dim: 0)(Tensor([1.0, 2.0, 3.0])), [0.09003057, 0.24472847, 0.66524096], tol: 1e-7, "Softmax")
        XCTAssertTrue(Identity()(x) === x)
        XCTAssertEqual(Sequential(Identity(), ReLU())(x).toDoubles(), [0, 0, 1, 2])
    }

    /// nn.init: PyTorch's gains and fan rules.
    func testInit() throws {
        XCTAssertEqual(Init.calculateGain("relu"), 2.0.squareRoot())
        XCTAssertEqual(Init.calculateGain("tanh"), 5.0 / 3)
        XCTAssertEqual(Init.calculateGain("leaky_relu", param: 5.0.squareRoot()), (2.0 / 6).squareRoot(), accuracy: 1e-15)
        let t = Tensor.empty([30, 50])
        XCTAssertTrue(Init.fans(t) == (50, 30))
        Init.kaimingUniform_(t, a: 5.0.squareRoot())
        XCTAssertTrue(t.toDoubles().allSatisfy { Swift.abs($0) <= 1 / 50.0.squareRoot() })
        Init.xavierUniform_(t)
        XCTAssertTrue(t.toDoubles().allSatisfy { Swift.abs($0) <= (6.0 / 80).squareRoot() })
        Init.truncNormal_(t, std: 0.02, a: -0.04, b: 0.04)
        XCTAssertTrue(t.toDoubles().allSatisfy { Swift.abs($0) <= 0.04 })
        XCTAssertEqual(Init.zeros_(t).toDoubles().reduce(0, +), 0)
        XCTAssertThrowsError(try withErrorCapture { _ = Init.fans(Tensor.empty([3])) }) {
            XCTAssertEqual("\($0)", "ValueError: Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
        }
        // Init under a parameter that requires grad runs without recording history.
        let lin = Linear(2, 2)
        Init.normal_(lin.weight)
        XCTAssertTrue(lin.weight.isLeaf)
    }
}
