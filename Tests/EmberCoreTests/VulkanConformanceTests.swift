import EmberTestSupport
import Foundation
import XCTest
@testable import EmberCore

/// The PyTorch-written op fixtures (`Fixtures/ops/op_fixtures.json`, PyTorch 2.13.0+cpu) replayed
/// on `vulkan:0`: inputs uploaded, the op run on the device, the result compared with PyTorch's
/// values (the CPU side of the same cases is in ElementwiseTests, ReductionTests, MatmulTests and
/// DTypePromotionTests). Tolerances: IEEE-exact ops and casts bit for bit; transcendental
/// functions within 1e-6 absolute + 4e-6 relative (the shaders' own exp/tanh/erf, not Sleef);
/// sums and matrix products within float32 reassociation (their order differs from ATen's).
final class VulkanConformanceTests: VulkanTestCase {
    private let transcendental = Tolerance.close(rtol: 4e-6, atol: 1e-6)
    private let summed = Tolerance.close(rtol: 1e-5, atol: 1e-6)

    private func onDevice(_ section: String, _ id: String, _ name: String) -> Tensor {
        OpFixtures.input(section, id, name).to(vk)
    }

    private func check(_ section: String, _ id: String, _ tol: Tolerance, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () -> Tensor) {
        let got = captured("\(section)/\(id) on vulkan:0", file: file, line: line, body)
        if let got { XCTAssertEqual(got.device, vk, "\(section)/\(id): result device", file: file, line: line) }
        assertTensor(got?.cpu(), OpFixtures.case(section, id)["out"]!, "\(section)/\(id) on vulkan:0", tol, file: file, line: line)
    }

    func testElementwiseBinaryAndScalarOps() {
        let x = onDevice("elementwise", "_inputs", "x"), y = onDevice("elementwise", "_inputs", "y")
        let ops: [(String, (Tensor, Tensor) -> Tensor)] = [
            ("add", { $0 + $1 }), ("sub", { $0 - $1 }), ("mul", { $0 * $1 }), ("div", { $0 / $1 }),
            ("maximum", { $0.maximum($1) }), ("minimum", { $0.minimum($1) }),
            ("lt", { $0 < $1 }), ("le", { $0 <= $1 }), ("gt", { $0 > $1 }), ("ge", { $0 >= $1 }),
            ("eq", { $0 == $1 }), ("ne", { $0 != $1 }),
        ]
        for (name, f) in ops { check("elementwise", "\(name)_x_y", .exact) { f(x, y) } }
        check("elementwise", "add_scalar", .exact) { x + 1.5 }
        check("elementwise", "rsub_scalar", .exact) { 2 - x }
        check("elementwise", "mul_int_scalar", .exact) { x * 3 }
        check("elementwise", "pow_x_2", .exact) { x.pow(2) }
    }

    func testElementwiseUnaryFunctions() {
        let x = onDevice("elementwise", "_inputs", "x")
        let ops: [(String, Tolerance, (Tensor) -> Tensor)] = [
            ("neg", .exact, { $0.neg() }), ("abs", .exact, { $0.abs() }), ("relu", .exact, { $0.relu() }),
            ("exp", transcendental, { $0.exp() }), ("tanh", transcendental, { $0.tanh() }),
            ("sigmoid", transcendental, { $0.sigmoid() }), ("gelu", transcendental, { $0.gelu() }),
            ("gelu_tanh", transcendental, { $0.gelu(approximate: "tanh") }),
            ("sin", transcendental, { $0.sin() }), ("cos", transcendental, { $0.cos() }),
        ]
        for (name, tol, f) in ops { check("elementwise", "\(name)_x", tol) { f(x) } }
    }

    func testConversionsCastLikePyTorch() {
        for id in ["float16", "bfloat16", "bf16_round_even", "int64", "int32", "bool", "uint8"] {
            guard let c = OpFixtures.sections["conversions"]?[id] as? [String: Any], let out = c["out"] as? [String: Any],
                  let dt = DType(rawValue: out["dtype"] as! String) else { continue }
            check("conversions", id, .exact) { onDevice("conversions", id, "x").to(dt) }
        }
    }

    func testReductionsAlongDims() {
        let x = onDevice("reductions", "_inputs", "x")
        for (dims, tag) in [([0], "0"), ([1], "1"), ([-1], "-1"), ([0, 2], "0_2")] {
            for keep in [false, true] {
                let k = keep ? "k" : "n"
                check("reductions", "sum_\(tag)_\(k)", summed) { x.sum(dims: dims, keepdim: keep) }
                check("reductions", "mean_\(tag)_\(k)", summed) { x.mean(dims: dims, keepdim: keep) }
                check("reductions", "varb_\(tag)_\(k)", summed) { x.variance(dims: dims, unbiased: false, keepdim: keep) }
            }
        }
        check("reductions", "sum_all_n", summed) { x.sum() }
        let maxOut = OpFixtures.case("reductions", "max_0_False")["out"] as! [Any]
        let (values, indices) = x.max(0)
        assertTensor(values.cpu(), maxOut[0], "reductions/max_0_False values on vulkan:0", .exact)
        assertTensor(indices.cpu(), maxOut[1], "reductions/max_0_False indices on vulkan:0", .exact)
        check("reductions", "argmax_0_False", .exact) { x.argmax(0) }
    }

    func testMatmulShapes() {
        for id in OpFixtures.ids("matmul") where !id.hasPrefix("err") {
            let c = OpFixtures.case("matmul", id)
            guard c["out"] != nil, let inputs = c["in"] as? [String: Any], inputs["a"] != nil, inputs["b"] != nil else { continue }
            let a = onDevice("matmul", id, "a"), b = onDevice("matmul", id, "b")
            check("matmul", id, summed) { id == "dot" ? a.dot(b) : id == "outer" ? a.outer(b) : a.matmul(b) }
        }
    }
}
