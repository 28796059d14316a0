import EmberIO
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest
@testable import EmberCore
@testable import EmberNN

/// A module with every kind of tensor state: a parameter, a persistent and a non-persistent buffer,
/// a child with parameters, and a plain tensor property (the seed notebook's pitfall).
final class DeviceStateProbe: Module {
    @Parameter var weight: Tensor
    @Buffer var runningMean: Tensor
    @Buffer(persistent: false) var scratch: Tensor
    @Child var head: Linear
    var plainScale: Tensor

    override init() {
        weight = Tensor.randn([2, 3])
        runningMean = Tensor([0.25, -0.5, 1.5])
        head = Linear(3, 2)
        plainScale = Tensor([2.0, 3.0])
        super.init()
        scratch = Tensor.arange(4)              // a buffer declared with arguments: assigned after super.init()
    }
}

/// Issue #7 item 1: `module.to(.vulkan(0))` moves parameters (keeping their identity), gradients and
/// every buffer; a plain property stays on the CPU and the module system's note names it; a state
/// dict of the Vulkan module saves CPU copies (.pth and safetensors) that load back onto the CPU and
/// onto vulkan:0 with the same values. Rule: values on vulkan:0 equal the CPU's exactly (moves are
/// byte copies). Skips with the reason when there is no Vulkan device (fails when `CI` is set); any
/// validation-layer message fails the test.
final class ModuleVulkanTests: VulkanTestCase {
    /// Asserts `t` is on `device` and holds exactly `expected`.
    func assertValues(_ t: Tensor?, _ expected: [Float], on device: Device, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        guard let t else { return XCTFail("\(what): missing", file: file, line: line) }
        XCTAssertEqual(t.device, device, "\(what): device", file: file, line: line)
        XCTAssertEqual(t.cpu().toFloats(), expected, "\(what): values", file: file, line: line)
    }

    /// Runs `body` with standard error (file descriptor 2) sent to a file; returns what was written.
    func capturingStandardError(_ body: () -> Void) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ember-stderr-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        fflush(nil)
        let saved = dup(2)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard saved >= 0, fd >= 0 else { throw XCTSkip("cannot redirect standard error") }
        dup2(fd, 2)
        close(fd)
        body()
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// Issue #12 item 2: `Linear`/`Embedding` built with `device: .vulkan(0)` draw their initial
    /// weights from the CPU generator and copy them, so they equal the CPU layers' for the same seed
    /// (they were all zeros); an Embedding forward on vulkan:0 selects the same rows.
    func testVulkanLinearAndEmbeddingWeightsEqualTheCPUDrawForTheSameSeed() throws {
        manualSeed(123)
        let cpuLinear = Linear(5, 3), cpuEmbedding = Embedding(7, 4)
        manualSeed(123)
        let vkLinear = Linear(5, 3, device: vk), vkEmbedding = Embedding(7, 4, device: vk)
        XCTAssertEqual(vkLinear.weight.device, vk)
        XCTAssertEqual(vkLinear.weight.to(.cpu).toFloats(), cpuLinear.weight.toFloats(), "Linear weight")
        XCTAssertEqual(vkLinear.bias!.to(.cpu).toFloats(), cpuLinear.bias!.toFloats(), "Linear bias")
        XCTAssertEqual(vkEmbedding.weight.to(.cpu).toFloats(), cpuEmbedding.weight.toFloats(), "Embedding weight")
        XCTAssertTrue(cpuLinear.weight.toFloats().contains { $0 != 0 })
        let ids = Tensor(array: [Int64(6), 0, 3], shape: [3])
        XCTAssertEqual(vkEmbedding(ids.to(vk)).to(.cpu).toFloats(), cpuEmbedding(ids).toFloats(), "Embedding rows")
    }

    func testToMovesParametersGradientsAndEveryBufferAndNamesThePlainProperty() throws {
        let m = DeviceStateProbe()
        let x = Tensor([[1.0, -2.0, 0.5]])
        ((m.weight * m.weight).sum() + m.head(x).sum()).backward()
        let weightObject = m.weight, headWeightObject = m.head.weight
        let before = (weight: m.weight.toFloats(), grad: m.weight.grad!.toFloats(),
                      headWeight: m.head.weight.toFloats(), headGrad: m.head.weight.grad!.toFloats(),
                      headBias: m.head.bias!.toFloats(), headBiasGrad: m.head.bias!.grad!.toFloats())
        XCTAssertEqual(m.unregisteredTensorProperties(), ["DeviceStateProbe.plainScale"])

        // The note is printed once per property and process: forget an earlier one.
        Module.warnLock.lock()
        Module.warned.remove("DeviceStateProbe.plainScale")
        Module.warnLock.unlock()
        let saved = Module.warnsAboutUnregisteredTensors
        Module.warnsAboutUnregisteredTensors = true
        defer { Module.warnsAboutUnregisteredTensors = saved }
        let note = try capturingStandardError { m.to(vk) }

        XCTAssertTrue(note.contains("DeviceStateProbe.plainScale is a plain Tensor property, so it is neither moved by to(_:) nor saved by stateDict() (it was not moved to vulkan:0)"), note)
        XCTAssertFalse(note.contains("runningMean") || note.contains("scratch") || note.contains("weight"), note)
        XCTAssertTrue(m.weight === weightObject && m.head.weight === headWeightObject,
                      "parameters keep their identity (an optimizer built earlier keeps working)")
        assertValues(m.weight, before.weight, on: vk, "weight")
        assertValues(m.weight.grad, before.grad, on: vk, "weight.grad")
        assertValues(m.head.weight, before.headWeight, on: vk, "head.weight")
        assertValues(m.head.weight.grad, before.headGrad, on: vk, "head.weight.grad")
        assertValues(m.head.bias, before.headBias, on: vk, "head.bias")
        assertValues(m.head.bias?.grad, before.headBiasGrad, on: vk, "head.bias.grad")
        assertValues(m.runningMean, [0.25, -0.5, 1.5], on: vk, "runningMean (persistent buffer)")
        XCTAssertEqual(m.scratch.device, vk, "scratch (non-persistent buffer): device")
        XCTAssertEqual(m.scratch.cpu().toInt64s(), [0, 1, 2, 3], "scratch (non-persistent buffer): values")
        assertValues(m.plainScale, [2, 3], on: .cpu, "plainScale (plain property, not moved)")
        XCTAssertTrue(m.weight.requiresGrad && m.weight.isParameter, "weight is still a parameter after the move")

        // Rule: an SGD step on vulkan:0 is the CPU's p − lr·g (to float32 rounding).
        SGD(m.parameters(), lr: 0.1).step()
        let expected = zip(before.weight, before.grad).map { $0 - Float(0.1) * $1 }
        for (i, (got, want)) in zip(m.weight.cpu().toFloats(), expected).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-6, "weight[\(i)] after SGD.step on vulkan:0")
        }
    }

    func testStateDictOfVulkanModuleSavesCPUCopiesThatLoadOnAnyDevice() throws {
        let m = DeviceStateProbe()
        let sdOnCPU = m.stateDict()
        let cpuValues = sdOnCPU.mapValues { $0.toFloats() }
        m.to(vk)
        var sd = m.stateDict()
        XCTAssertEqual(Array(sd.keys), ["weight", "runningMean", "head.weight", "head.bias"],
                       "own parameters, own persistent buffers, then the child's; no non-persistent buffer")
        for (k, t) in sd { XCTAssertEqual(t.device, vk, "\(k) is a vulkan:0 tensor in the state dict") }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-vk-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        // .pth: a view of a device tensor is saved as a view of the same (CPU-copied) storage.
        let pth = dir.appendingPathComponent("probe.pth")
        sd["weightRow1"] = m.weight.detach().select(0, 1)
        try save(sd, to: pth)
        sd.removeValue(forKey: "weightRow1")
        for (label, device, mapLocation) in [("cpu", Device.cpu, MapLocation.asSaved), ("vulkan:0", vk, .asSaved),
                                             ("vulkan:0 with mapLocation .cpu", vk, .cpu)] {
            let loaded = try XCTUnwrap(load(pth, mapLocation: mapLocation, device: device).dict, label)
            for (k, v) in cpuValues { assertValues(loaded[.string(k)]?.tensor, v, on: device, ".pth → \(label): \(k)") }
            let row = try XCTUnwrap(loaded[.string("weightRow1")]?.tensor)
            assertValues(row, Array(cpuValues["weight"]![3..<6]), on: device, ".pth → \(label): weightRow1")
            XCTAssertTrue(row.storage === loaded[.string("weight")]?.tensor?.storage,
                          ".pth → \(label): the row still views the weight's storage")
        }

        // A fresh CPU module and a fresh Vulkan module load the file's state.
        manualSeed(7)
        let onCPU = DeviceStateProbe()
        XCTAssertTrue(try onCPU.loadStateDict(load(pth), strict: false).missingKeys.isEmpty)
        for (k, t) in onCPU.stateDict() { assertValues(t, cpuValues[k]!, on: .cpu, "CPU module after load: \(k)") }
        let onVulkan = DeviceStateProbe().to(vk)
        XCTAssertTrue(try onVulkan.loadStateDict(load(pth), strict: false).missingKeys.isEmpty)
        for (k, t) in onVulkan.stateDict() { assertValues(t, cpuValues[k]!, on: vk, "Vulkan module after load: \(k)") }

        // safetensors.
        let st = dir.appendingPathComponent("probe.safetensors")
        try saveSafetensors(sd, to: st)
        for device in [Device.cpu, vk] {
            let loaded = try loadSafetensors(st, device: device).tensors
            XCTAssertEqual(Set(loaded.keys), Set(sd.keys), "safetensors → \(device): keys (the file lists them sorted)")
            for (k, v) in cpuValues { assertValues(loaded[k], v, on: device, "safetensors → \(device): \(k)") }
        }
    }
}
