import EmberCore
import EmberTestSupport
import XCTest

/// `F.logsigmoid` (the DPO loss's `-F.logsigmoid(beta * logits)`): values and gradients from PyTorch
/// 2.15 (`torch.nn.functional.logsigmoid`, float32), stable at ±100, 0.5 gradient at 0, and a gradcheck.
/// (The gradient goes through the vectorised `sigmoid`, whose argument is clamped: at x = 100 it is
/// 4e-39 instead of 3.8e-44, hence the 1e-38 absolute tolerance.)
final class LogSigmoidTests: XCTestCase {
    func testValuesAndGradientsEqualPyTorch() {
        let inputs: [Float] = [-100, -20, -3.5, -1, -1e-3, 0, 1e-3, 0.5, 2, 30, 100]
        let x = Tensor(array: inputs).requiresGrad_()
        let y = x.logSigmoid()
        XCTAssertEqual(y.gradFn?.name, "LogSigmoidBackward0")
        let expected: [Double] = [-100.0, -20.0, -3.529750347137451, -1.3132617473602295, -0.6936472654342651, -0.6931471824645996,
                                  -0.6926472783088684, -0.4740769863128662, -0.12692801654338837, -9.357622912219837e-14, -3.923635700109488e-44]
        let values = y.toDoubles()
        for (i, (a, e)) in zip(values, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: Swift.abs(e) * 2e-7 + 1e-43, "logsigmoid(\(inputs[i]))")
        }
        XCTAssertEqual(values[5], 0.6931471824645996 * -1, "logsigmoid(0) = -float32(ln 2) exactly")
        y.sum().backward()
        let grads: [Double] = [1.0, 1.0, 0.970687747001648, 0.7310585975646973, 0.500249981880188, 0.5, 0.4997499883174896,
                               0.3775406777858734, 0.11920291930437088, 9.357622912219837e-14, 3.783505853677006e-44]
        for (i, (a, e)) in zip(x.grad!.toDoubles(), grads).enumerated() {
            XCTAssertEqual(a, e, accuracy: Swift.abs(e) * 1e-6 + 1e-38, "d logsigmoid / dx at \(inputs[i])")
        }
        XCTAssertEqual(Tensor([1, 2]).logSigmoid().dtype, .float32, "integers give float32")
        XCTAssertEqual(Tensor(array: [0.0]).logSigmoid().item(), -0.6931471805599453, "float64 computes in float64")
    }

    func testGradcheck() {
        gradcheck("logSigmoid", [([2, 5], grid([2, 5], lo: -6, hi: 6))]) { $0[0].logSigmoid() }
    }
}
