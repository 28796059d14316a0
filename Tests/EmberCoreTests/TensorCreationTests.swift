import Foundation
import XCTest
@testable import EmberCore

// MARK: - Op fixtures shared by the conformance tests

/// Access to `Fixtures/ops/op_fixtures.json`: inputs, results and error messages written by
/// PyTorch 2.13.0+cpu (`make_op_fixtures.py` beside it; see its README). Used by every
/// `*Tests.swift` conformance file of this target; a failure names the section, the case id and,
/// for values, the worst element and its difference.
enum OpFixtures {
    // Read-only after the lazy initialisation, so sharing it across test threads is safe.
    nonisolated(unsafe) static let sections: [String: [String: Any]] = {
        guard let url = Bundle.module.url(forResource: "op_fixtures", withExtension: "json", subdirectory: "Fixtures/ops"),
              let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let s = root["sections"] as? [String: [String: Any]]
        else { fatalError("Fixtures/ops/op_fixtures.json is missing from the test bundle") }
        return s
    }()

    /// The case `id` of `section` (a dictionary, or whatever the generator wrote there).
    static func raw(_ section: String, _ id: String) -> Any {
        guard let c = sections[section]?[id] else { fatalError("op_fixtures.json has no case \(section)/\(id)") }
        return c
    }
    static func `case`(_ section: String, _ id: String) -> [String: Any] { raw(section, id) as! [String: Any] }

    /// All case ids of a section (ids starting with `_` hold shared inputs, not results).
    static func ids(_ section: String) -> [String] { sections[section]!.keys.filter { !$0.hasPrefix("_") }.sorted() }

    /// Input tensor `name` of a case (`"in"`).
    static func input(_ section: String, _ id: String, _ name: String) -> Tensor {
        let c = `case`(section, id)
        return tensor((c["in"] as! [String: Any])[name]!)
    }

    /// An Ember tensor holding a fixture tensor's dtype, shape and values exactly.
    static func tensor(_ spec: Any) -> Tensor {
        let s = spec as! [String: Any]
        let dtype = DType(rawValue: s["dtype"] as! String)!
        let shape = s["shape"] as! [Int]
        let v = s["v"] as! [Any]
        if dtype.isFloatingPoint { return Tensor(array: doubles(v), shape: shape).to(dtype) }
        if dtype == .bool { return Tensor(array: v.map { ($0 as! NSNumber).boolValue }, shape: shape) }
        return Tensor(array: v.map { ($0 as! NSNumber).int64Value }, shape: shape).to(dtype)
    }

    static func doubles(_ v: [Any]) -> [Double] {
        v.map { x in
            if let s = x as? String { return Double(s)! }
            return (x as! NSNumber).doubleValue
        }
    }
}

/// How closely floating results must match PyTorch's.
enum Tolerance {
    /// Bit-for-bit (IEEE-exact ops, or results exactly representable in the dtype).
    case exact
    /// `|got - expected| <= atol + rtol * |expected|` (transcendental functions, reductions
    /// whose summation order differs from ATen's).
    case close(rtol: Double, atol: Double)

    /// A few float32 ulps.
    static let float32 = Tolerance.close(rtol: 4e-7, atol: 1e-7)
    /// For SIMD/Sleef-style transcendental kernels: ~16 float32 ulps.
    static let transcendental = Tolerance.close(rtol: 2e-6, atol: 2e-7)
}

extension XCTestCase {
    /// Runs `body` inside ``withErrorCapture(_:)`` so an unexpected op error fails the test (with
    /// `label`) instead of stopping the process.
    func captured<R>(_ label: String, file: StaticString = #filePath, line: UInt = #line, _ body: () -> R) -> R? {
        do { return try withErrorCapture(body) } catch {
            XCTFail("\(label): unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    /// The error an op raises, as PyTorch prints it (`str(exception)`), or nil when none.
    func errorMessage(_ body: () -> Void) -> String? {
        do { try withErrorCapture(body); return nil } catch let e as EmberError { return e.message } catch { return "\(error)" }
    }

    /// Checks `got` against a fixture tensor: dtype, shape, then every value (exactly for integer
    /// and bool dtypes; floats per `tol`). Reports the worst element.
    func assertTensor(_ got: Tensor?, _ expected: Any, _ label: String, _ tol: Tolerance = .exact,
                      file: StaticString = #filePath, line: UInt = #line) {
        guard let got else { return XCTFail("\(label): no result", file: file, line: line) }
        let s = expected as! [String: Any]
        let dtype = DType(rawValue: s["dtype"] as! String)!
        let shape = s["shape"] as! [Int]
        let v = s["v"] as! [Any]
        XCTAssertEqual(got.dtype, dtype, "\(label): dtype", file: file, line: line)
        guard got.shape == shape else {
            return XCTFail("\(label): shape \(got.shape) != expected \(shape)", file: file, line: line)
        }
        guard !got.isMeta else { return XCTFail("\(label): result is a meta tensor", file: file, line: line) }
        if dtype.isFloatingPoint && got.dtype.isFloatingPoint {
            let g = got.toDoubles(), e = OpFixtures.doubles(v)
            var worst = -1, worstDiff = 0.0, bad = 0
            for i in 0..<e.count {
                let (a, b) = (g[i], e[i])
                if a.isNaN && b.isNaN { continue }
                let diff = (a.isInfinite || b.isInfinite) ? (a == b ? 0 : .infinity) : Swift.abs(a - b)
                let ok: Bool
                switch tol {
                case .exact: ok = a == b || (a.isNaN == b.isNaN && diff == 0)
                case .close(let rtol, let atol): ok = !a.isNaN && !b.isNaN && diff <= atol + rtol * Swift.abs(b)
                }
                if !ok {
                    bad += 1
                    if worst < 0 || diff > worstDiff || diff.isNaN { worst = i; worstDiff = diff }
                }
            }
            if worst >= 0 {
                XCTFail("\(label): \(bad)/\(e.count) values differ; max |diff| = \(worstDiff) at flat index \(worst) (got \(g[worst]), PyTorch \(e[worst]))",
                        file: file, line: line)
            }
        } else if dtype == .bool {
            let g = got.toBools(), e = v.map { ($0 as! NSNumber).boolValue }
            if let i = (0..<e.count).first(where: { g[$0] != e[$0] }) {
                XCTFail("\(label): bool values differ first at flat index \(i): got \(g), PyTorch \(e)", file: file, line: line)
            }
        } else {
            let g = got.toInt64s(), e = v.map { ($0 as! NSNumber).int64Value }
            if let i = (0..<e.count).first(where: { g[$0] != e[$0] }) {
                XCTFail("\(label): integer values differ first at flat index \(i) (got \(g[i]), PyTorch \(e[i])): got \(g), PyTorch \(e)", file: file, line: line)
            }
        }
    }

    /// Checks an op error against the fixture's `{"error": message}`.
    func assertError(_ section: String, _ id: String, file: StaticString = #filePath, line: UInt = #line, _ body: () -> Void) {
        let expected = OpFixtures.case(section, id)["error"] as? String
        XCTAssertNotNil(expected, "\(section)/\(id): PyTorch raised no error", file: file, line: line)
        XCTAssertEqual(errorMessage(body), expected, "\(section)/\(id): error message", file: file, line: line)
    }
}

// MARK: - Creation

/// Creation ops (`torch.tensor`, zeros/ones/full/empty, arange, linspace, eye, *_like, tril/triu,
/// stack, cat) against `op_fixtures.json` section `creation` (PyTorch 2.13.0+cpu).
final class TensorCreationTests: XCTestCase {
    private func out(_ id: String) -> Any { OpFixtures.case("creation", id)["out"]! }

    func testNestedArraysAndScalars() {
        assertTensor(Tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66]]), out("nested_float"), "nested_float")
        assertTensor(Tensor([[1, 2], [3, 4], [5, 6]]), out("nested_int"), "nested_int")
        assertTensor(Tensor([[true, false]]), out("nested_bool"), "nested_bool")
        assertTensor(Tensor(3.5), out("scalar_float"), "scalar_float")
        assertTensor(Tensor(7), out("scalar_int"), "scalar_int")
        assertTensor(Tensor(true), out("scalar_bool"), "scalar_bool")
        assertTensor(Tensor([Double]()), out("empty_list"), "empty_list")
    }

    func testFactories() {
        assertTensor(Tensor.zeros([2, 3]), out("zeros"), "zeros")
        assertTensor(Tensor.ones([2, 2], dtype: .int32), out("ones_int32"), "ones_int32")
        assertTensor(Tensor.full([2, 2], 0.1), out("full"), "full")
        assertTensor(Tensor.full([3], 7, dtype: .int64), out("full_int"), "full_int")
        XCTAssertEqual(Tensor.empty([2, 0, 3]).shape, out("empty_shape") as! [Int], "empty shape")
        let x = OpFixtures.input("creation", "zeros_like", "x")
        assertTensor(Tensor.zerosLike(x), out("zeros_like"), "zeros_like")
        assertTensor(Tensor.onesLike(x, dtype: .float32), out("ones_like_f"), "ones_like_f")
        assertTensor(Tensor.fullLike(x, 9), out("full_like"), "full_like")
        assertTensor(Tensor.eye(3), out("eye3"), "eye3")
        assertTensor(Tensor.eye(2, 4), out("eye2x4"), "eye2x4")
    }

    func testArange() {
        assertTensor(Tensor.arange(5), out("arange_int"), "arange_int")
        assertTensor(Tensor.arange(2, 11, 3), out("arange_int_step"), "arange_int_step")
        assertTensor(Tensor.arange(5, -4, -2), out("arange_int_neg"), "arange_int_neg")
        // PyTorch computes float arange in double then rounds each value: exact.
        assertTensor(Tensor.arange(0.0, 1.0, 0.1), out("arange_float"), "arange_float")
        assertTensor(Tensor.arange(-1.5, 2.0, 0.25), out("arange_float2"), "arange_float2")
    }

    /// linspace must be bit-exact with ATen's float32 kernel (both halves, both endpoints).
    func testLinspaceBitExact() {
        for id in OpFixtures.ids("creation") where id.hasPrefix("linspace") {
            let c = OpFixtures.case("creation", id)
            let a = c["args"] as! [String: Any]
            let start = (a["start"] as! NSNumber).doubleValue, end = (a["end"] as! NSNumber).doubleValue
            let steps = a["steps"] as! Int
            let dtype: DType = id == "linspace_f64" ? .float64 : .float32
            assertTensor(Tensor.linspace(start, end, steps: steps, dtype: dtype), c["out"]!, "creation/\(id)")
        }
    }

    func testTrilTriuAndCausalMask() {
        for id in OpFixtures.ids("creation") where id.hasPrefix("tril_") || id.hasPrefix("triu_") {
            let c = OpFixtures.case("creation", id)
            let d = (c["args"] as! [String: Any])["diagonal"] as! Int
            let x = OpFixtures.input("creation", id, "x")
            assertTensor(id.hasPrefix("tril") ? x.tril(diagonal: d) : x.triu(diagonal: d), c["out"]!, "creation/\(id)")
        }
        assertTensor(Tensor.ones([4, 4]).triu(diagonal: 1).bool(), out("causal_mask"), "causal_mask")
    }

    func testStackAndCat() {
        for d in [0, 1, 2, -1] {
            let id = "stack_\(d)"
            let a = OpFixtures.input("creation", id, "a"), b = OpFixtures.input("creation", id, "b")
            assertTensor(captured(id) { Tensor.stack([a, b], dim: d) }, out(id), id)
        }
        for id in ["cat_0", "cat_1", "cat_mixed"] {
            let a = OpFixtures.input("creation", id, "a"), b = OpFixtures.input("creation", id, "b")
            assertTensor(captured(id) { Tensor.cat([a, b], dim: id == "cat_1" ? 1 : 0) }, out(id), id)
        }
        let a = OpFixtures.input("creation", "cat_1", "a"), b2 = OpFixtures.input("creation", "cat_1", "b")
        assertError("creation", "cat_err") { _ = Tensor.cat([a, b2], dim: 0) }
        assertError("creation", "stack_err") { _ = Tensor.stack([a, b2]) }
    }
}
