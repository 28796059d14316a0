import XCTest
@testable import EmberCore

final class SmokeTests: XCTestCase {
    func testBasics() throws {
        let inputs = Tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                             [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
        print(inputs)
        let scores = inputs.matmul(inputs.T)
        print(scores)
        let w = scores.softmax(-1)
        print(w, w.sum(1))
        let ctx = w.matmul(inputs)
        print(ctx)
        let t = Tensor.ones([6, 6]).triu(diagonal: 1)
        print(t)
        t[t == 1] = 2
        print(t)
        print(inputs[..<2, 1...])
        let x = Tensor([1.0, 2.0, 3.0], requiresGrad: true)
        let y = (x * x).sum()
        y.backward()
        print(x.grad!)
        print(Tensor.arange(10).reshape(2, 5).sum(1))
        let m = Tensor.ones([3, 3], device: .meta)
        print(m)
        XCTAssertThrowsError(try withErrorCapture { _ = m + inputs })
        do { try withErrorCapture { _ = m + inputs } } catch { print(error) }
    }
}
