import EmberCore
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

// Autograd through EmberNN's functions and layers, checked like the core ops in EmberCoreTests'
// AutogradTests (central finite differences in float64, the rule torch.autograd.gradcheck uses).

final class NNAutogradTests: XCTestCase {
    let m23 = (shape: [2, 3], values: grid([2, 3]))
    let m23b = (shape: [2, 3], values: grid([2, 3], salt: 1))

    /// The `GELU` layer against finite differences.
    func testGELUModuleGradient() {
        gradcheck("GELU module", [m23]) { GELU(approximate: "tanh")($0[0]) }
    }

    /// `layerNorm` against finite differences.
    func testLayerNormGradient() {
        gradcheck("layerNorm", [m23, ([3], grid([3], salt: 7)), ([3], grid([3], salt: 8))]) {
            layerNorm($0[0], normalizedShape: [3], weight: $0[1], bias: $0[2])
        }
    }

    /// `linear` against finite differences.
    func testLinearGradients() {
        gradcheck("linear", [([4, 3], grid([4, 3])), m23b, ([2], grid([2], salt: 2))]) { linear($0[0], weight: $0[1], bias: $0[2]) }
        gradcheck("linear batched", [([2, 2, 3], grid([2, 2, 3])), m23b]) { linear($0[0], weight: $0[1], bias: nil) }
    }

    /// `embedding` with repeated indices against finite differences.
    func testEmbeddingGradient() {
        gradcheck("embedding repeated", [([4, 3], grid([4, 3]))]) { embedding(Tensor([[1, 3], [1, 0]]), weight: $0[0]) }
    }

    /// A graph that is never backpropagated is freed with its output (no output → node → output
    /// reference cycle), so forwards without `noGrad` do not leak; softmax's saved result is checked.
    func testGraphFreedWithoutBackward() throws {
        let x = Tensor([[0.5, -1.0, 2.0]], requiresGrad: true)
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("exp", { $0.exp() }), ("sigmoid", { $0.sigmoid() }), ("tanh", { $0.tanh() }), ("relu", { $0.relu() }),
            ("softmax", { $0.softmax(-1) }), ("logSoftmax", { $0.logSoftmax(-1) }), ("prod", { $0.prod(1) }),
            ("linear", { linear($0, weight: Tensor.ones([2, 3]), bias: Tensor.ones([2])) }),
            ("gelu", { $0.gelu() }),
        ]
        for (name, op) in ops {
            weak var weakOut: Tensor?
            do {
                let y = op(x)
                XCTAssertNotNil(y.gradFn, name)
                weakOut = y
            }
            XCTAssertNil(weakOut, "\(name): output kept alive by its own graph")
        }
        let p = x.softmax(-1)
        p.mul_(2)
        XCTAssertThrowsError(try withErrorCapture { p.sum().backward() }) {
            XCTAssertTrue("\($0)".contains("[torch.FloatTensor [1, 3]], which is output 0 of SoftmaxBackward0, is at version 1; expected version 0 instead."), "\($0)")
        }
    }
}
