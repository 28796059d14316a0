import Foundation
import XCTest
@testable import EmberCore

/// dtypes: round trips, PyTorch's promotion table for binary ops over all dtype pairs
/// (tensor-tensor, tensor-0-d tensor, tensor-Swift scalar), true division, comparisons, and
/// `to(dtype)` conversions. Expected values: `op_fixtures.json` sections `dtypes`,
/// `dtypes_scalar`, `conversions` (PyTorch 2.13.0+cpu).
final class DTypePromotionTests: XCTestCase {
    /// The generator's operands: `[1, 2, 3]` in each dtype, `[true, false, true]` for bool.
    private func small(_ d: DType) -> Tensor {
        d == .bool ? Tensor([true, false, true]) : Tensor([1, 2, 3]).to(d)
    }

    /// Every dtype stores and returns its values unchanged (rule: a round trip is the identity).
    func testEveryDTypeRoundTrips() {
        func check<T: TensorScalar & Equatable>(_ values: [T], viaFloat64: Bool = true) {
            let t = Tensor(array: values, shape: [values.count])
            XCTAssertEqual(t.dtype, T.dtype)
            XCTAssertEqual(t.toArray(T.self), values, "\(T.dtype) round trip")
            // Through float64 and back: exact for values float64 represents.
            if viaFloat64 {
                XCTAssertEqual(t.to(.float64).to(T.dtype).toArray(T.self), values, "\(T.dtype) via float64")
            }
        }
        check([Float(0.1), -3.5, .infinity, Float.leastNonzeroMagnitude, .greatestFiniteMagnitude])
        check([0.1, -1e300, Double.leastNonzeroMagnitude])
        check([Float16(0.1), -65504, Float16.leastNonzeroMagnitude])
        check([BFloat16(0.1), BFloat16(-3e38), BFloat16(1)])
        check([Int64.max, Int64.min, 0, -1], viaFloat64: false)   // Int64.max is not a float64
        check([Int64(1) << 53, -(Int64(1) << 53), Int64.min, 0, -1])
        check([Int32.max, Int32.min, 7])
        check([Int16.max, Int16.min, -2])
        check([Int8.max, Int8.min, 0])
        check([UInt8.max, 0, 128])
        check([true, false, true])
        for d in DType.allCases {
            XCTAssertEqual(Tensor.zeros([2], dtype: d).dtype, d)
        }
    }

    func testPromotionTableTensorTensorAllPairs() {
        for a in DType.allCases {
            for b in DType.allCases {
                let id = "\(a.rawValue)_\(b.rawValue)"
                let c = OpFixtures.case("dtypes", id)
                let A = small(a), B = small(b)
                XCTAssertEqual(DType.promoted(a, b).rawValue, (c["add"] as! [String: Any])["dtype"] as! String, "promote_types(\(a), \(b))")
                assertTensor(captured(id) { A + B }, c["add"]!, "\(id) add")
                assertTensor(captured(id) { A * B }, c["mul"]!, "\(id) mul")
                assertTensor(captured(id) { A / B }, c["div"]!, "\(id) true division", .float32)
                assertTensor(captured(id) { A < B }, c["lt"]!, "\(id) lt")
                assertTensor(captured(id) { A == B }, c["eq"]!, "\(id) eq")
                let zeroD = b == .bool ? Tensor(true) : Tensor(2).to(b)
                assertTensor(captured(id) { A + zeroD }, c["add0d"]!, "\(id) add 0-d tensor")
                let sub = c["sub"] as! [String: Any]
                if let msg = sub["error"] as? String {
                    XCTAssertEqual(errorMessage { _ = A - B }, msg, "\(id) sub error")
                } else {
                    assertTensor(captured(id) { A - B }, sub, "\(id) sub")
                }
            }
        }
    }

    func testPromotionWithSwiftScalars() {
        for a in DType.allCases {
            let c = OpFixtures.case("dtypes_scalar", a.rawValue)
            let A = small(a)
            assertTensor(captured("int") { A + 2 }, c["int"]!, "\(a) + Int")
            assertTensor(captured("double") { A + 2.5 }, c["double"]!, "\(a) + Double")
            assertTensor(captured("bool") { A + true }, c["bool"]!, "\(a) + Bool")
            assertTensor(captured("mul") { A * 0.5 }, c["mul_double"]!, "\(a) * Double")
            assertTensor(captured("div") { A / 2 }, c["div_int"]!, "\(a) / Int (true division)")
            assertTensor(captured("gt") { A > 1.5 }, c["gt_double"]!, "\(a) > Double")
            assertTensor(captured("eq") { A == 1 }, c["eq_int"]!, "\(a) == Int")
            let rsub = c["rsub_int"] as! [String: Any]
            if let msg = rsub["error"] as? String {
                XCTAssertEqual(errorMessage { _ = 10 - A }, msg, "\(a) Int - tensor error")
            } else {
                assertTensor(captured("rsub") { 10 - A }, rsub, "\(a) Int - tensor")
            }
        }
    }

    /// `to(dtype)`: float→int truncation toward zero, to bool, float16/bfloat16 rounding.
    func testConversions() {
        let x = OpFixtures.input("conversions", "float32", "x")
        for d in DType.allCases {
            let c = OpFixtures.case("conversions", d.rawValue)
            assertTensor(x.to(d), c["out"]!, "conversions/\(d.rawValue)")
        }
        for id in ["int_to_float16", "bf16_round_even", "nan_inf_to_bool"] {
            let c = OpFixtures.case("conversions", id)
            let t = OpFixtures.input("conversions", id, "x")
            let target = DType(rawValue: (c["out"] as! [String: Any])["dtype"] as! String)!
            assertTensor(t.to(target), c["out"]!, "conversions/\(id)")
        }
    }

    func testItemAndToArray() {
        let c = OpFixtures.case("conversions", "item")
        let t = OpFixtures.input("conversions", "item", "x")
        XCTAssertEqual(t.item(), (c["out"] as! NSNumber).doubleValue, "item()")
        XCTAssertEqual(Tensor([[1, 2], [3, 4]]).toArray(Int64.self), [1, 2, 3, 4], "toArray row-major")
        XCTAssertEqual(Tensor([[1, 2], [3, 4]]).t().toArray(Int64.self), [1, 3, 2, 4], "toArray of a transposed view")
        XCTAssertEqual(Tensor(Int(Int64.max)).intItem(), Int.max, "intItem exact beyond 2^53")
        assertError("conversions", "item_many") { _ = Tensor([1.0, 2.0]).item() }
    }
}
