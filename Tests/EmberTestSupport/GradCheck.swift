import EmberCore
import XCTest

// Gradient checks shared by the autograd tests of EmberCore and EmberNN.

/// Deterministic float64 values in [lo, hi) (no RNG: these tests must not depend on seeding).
public func grid(_ shape: [Int], lo: Double = -1.5, hi: Double = 1.5, salt: Int = 0) -> [Double] {
    let n = shape.reduce(1, *)
    return (0..<n).map { i in
        let u = Double((i * 7919 + salt * 104729 + 13) % 1009) / 1009
        return lo + (hi - lo) * u
    }
}

/// Checks the gradients of `f` at `inputs` (float64) against central differences of `sum(f · w)`
/// for a fixed weight `w`, so every output element's backward is exercised.
public func gradcheck(_ what: String, _ inputs: [(shape: [Int], values: [Double])], eps: Double = 1e-6,
               atol: Double = 1e-5, rtol: Double = 1e-3, file: StaticString = #filePath, line: UInt = #line,
               _ f: ([Tensor]) -> Tensor) {
    func leaves(_ vals: [[Double]]) -> [Tensor] {
        zip(inputs, vals).map { Tensor(array: $1, shape: $0.shape).requiresGrad_() }
    }
    let base = inputs.map { $0.values }
    let xs = leaves(base)
    let out = f(xs)
    guard out.requiresGrad else { XCTFail("\(what): output does not require grad", file: file, line: line); return }
    let weight = Tensor(array: grid(out.shape, lo: 0.5, hi: 1.5, salt: 3), shape: out.shape)
    func objective(_ ts: [Tensor]) -> Double { noGrad { (f(ts).to(.float64) * weight).sum().item() } }
    let analytic = Autograd.grad(outputs: [(out * weight).sum()], inputs: xs, allowUnused: true)
    for (k, input) in inputs.enumerated() {
        let a = analytic[k]?.toDoubles() ?? [Double](repeating: 0, count: input.values.count)
        var worst = 0.0, at = 0
        for j in input.values.indices {
            var plus = base, minus = base
            plus[k][j] += eps
            minus[k][j] -= eps
            let numeric = (objective(leaves(plus)) - objective(leaves(minus))) / (2 * eps)
            let err = Swift.abs(numeric - a[j]) - rtol * Swift.abs(numeric)
            if err > worst { worst = err; at = j }
        }
        XCTAssert(worst <= atol, "\(what): input \(k) grad differs from finite differences by \(worst) at \(at)",
                  file: file, line: line)
    }
}
