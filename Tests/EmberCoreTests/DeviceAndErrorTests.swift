import Foundation
import XCTest
@testable import EmberCore

/// Devices: string parsing and printing, meta tensors (shapes propagate, values cannot be read),
/// and errors for mixed devices. Expected strings: `op_fixtures.json` section `devices`
/// (PyTorch 2.13.0+cpu), except where noted as Ember's stated rule.
final class DeviceAndErrorTests: XCTestCase {
    private var fx: [String: Any] { OpFixtures.sections["devices"]! }

    func testDeviceStringsParseAndPrint() {
        let strings = fx["strings"] as! [String: String]
        for s in ["cpu", "meta", "cuda:0", "cuda:1"] {
            XCTAssertEqual(Device(s)?.description, strings[s], "str(torch.device(\"\(s)\"))")
        }
        XCTAssertEqual(Device("cuda:1"), .cuda(1))
        XCTAssertEqual(Device("vulkan:0"), .vulkan(0))
        // PyTorch keeps "cuda" without an index (prints "cuda"); Ember's Device always carries an
        // index and reads it as cuda:0 (a known difference, see the conformance report).
        XCTAssertEqual(Device("cuda"), .cuda(0))
        // Strings PyTorch rejects (RuntimeError in the fixture) do not parse.
        for bad in (fx["bad"] as! [String: Any]).keys.sorted() {
            XCTAssertNil(Device(bad), "torch.device(\"\(bad)\") raises")
        }
    }

    func testMetaTensorsPropagateShapes() {
        let m = Tensor.empty([2, 3, 4], device: .meta)
        let mm = captured("meta matmul") { m.matmul(Tensor.empty([4, 5], device: .meta)) }
        XCTAssertEqual(mm?.shape, fx["meta_matmul_shape"] as? [Int], "meta matmul shape")
        XCTAssertEqual(mm?.device, .meta)
        XCTAssertEqual(captured("meta sum") { m.sum(1) }?.shape, fx["meta_sum_shape"] as? [Int], "meta sum(1) shape")
        XCTAssertEqual(captured("meta softmax") { m.softmax(-1) }?.shape, fx["meta_softmax_shape"] as? [Int], "meta softmax shape")
        XCTAssertEqual(captured("meta view") { m.view(6, 4) }?.shape, fx["meta_view_shape"] as? [Int], "meta view shape")
        XCTAssertEqual("\(m)", fx["meta_repr"] as? String, "repr of a meta tensor")
    }

    func testOpsNeedingValuesOnMetaRaise() {
        let m = Tensor.empty([2, 3, 4], device: .meta)
        assertError("devices", "meta_item") { _ = m[0, 0, 0].item() }
        // Tensor.to("cpu") from meta: PyTorch's message; Ember appends Module.to's hint (see report).
        let expected = (fx["meta_to_cpu"] as! [String: Any])["error"] as! String
        let got = errorMessage { _ = m.to(.cpu) } ?? ""
        XCTAssertTrue(got.hasPrefix(expected), "meta.to(cpu): \(got)")
        XCTAssertEqual(errorMessage { _ = m.toArray(Float.self) }, expected, "reading values of a meta tensor")
    }

    /// Rule from issue 2 / book case C27: PyTorch's wording for mixing an accelerator with the CPU,
    /// with meta standing in for the accelerator. (PyTorch itself words meta/cpu mixes as "Tensor on
    /// device cpu is not on the expected device meta!", see the fixture and the report.)
    func testMixedDevicesRaise() {
        let m = Tensor.empty([2, 3, 4], device: .meta), c = Tensor.ones([2, 3, 4])
        let mixed = "Expected all tensors to be on the same device, but found at least two devices, meta and cpu!"
        XCTAssertEqual(errorMessage { _ = m + c }, mixed, "meta + cpu")
        XCTAssertEqual(errorMessage { _ = c + m }, mixed, "cpu + meta")
        XCTAssertEqual(errorMessage { _ = m.matmul(Tensor.ones([4, 5])) }, mixed, "meta @ cpu")
        XCTAssertEqual(errorMessage { _ = Tensor.cat([m, c]) }, mixed, "cat([meta, cpu])")
        XCTAssertEqual(errorMessage { m.maskedFill_(Tensor.ones([2, 3, 4], dtype: .bool), 0) },
                       "expected self and mask to be on the same device, but got mask on cpu and self on meta", "maskedFill_")
        // A Swift scalar joins a tensor on any device (as a Python scalar does).
        XCTAssertEqual(captured("meta + scalar") { m + 1.0 }?.device, .meta)
    }
}
