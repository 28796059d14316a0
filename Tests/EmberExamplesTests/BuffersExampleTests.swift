import EmberTestSupport
import Foundation
import XCTest
@testable import EmberCore
@testable import EmberExamples

/// `ember example buffers --device vulkan:0` (issue #7 item 2): the seed notebook "Understanding
/// PyTorch Buffers" run on an accelerator, as the notebook runs on CUDA. Expected text: book case C27
/// (and C22 for the first module's output) with `cuda:0` read as `vulkan:0` — the plain-mask module
/// fails with PyTorch's device error, the buffer module prints the notebook's numbers followed by
/// `device='vulkan:0'`, and the state saved from the device loads on the CPU with the 2s.
/// Skips with the reason when there is no Vulkan device (fails when `CI` is set); any
/// validation-layer message fails the test.
final class BuffersExampleTests: VulkanTestCase {
    override var seedBeforeEachTest: UInt64? { nil }

    /// C22's output, which C27 step 1 prints without grad_fn.
    static let c22Rows = """
        tensor([[[-0.4519,  0.2216],
                 [-0.5874,  0.0058],
                 [-0.6300, -0.0632],
                 [-0.5675, -0.0843],
                 [-0.5526, -0.0981],
                 [-0.5299, -0.1081]],

                [[-0.4519,  0.2216],
                 [-0.5874,  0.0058],
                 [-0.6300, -0.0632],
                 [-0.5675, -0.0843],
                 [-0.5526, -0.0981],
                 [-0.5299, -0.1081]]]
        """

    /// C27 steps 1–6 on vulkan:0.
    static let expected = """
        \(c22Rows))

        Machine has vulkan:0.
        RuntimeError: expected self and mask to be on the same device, but got mask on cpu and self on vulkan:0
        W_query.device: vulkan:0
        mask.device: cpu
        Tensor
        mask.device: vulkan:0
        \(c22Rows), device='vulkan:0')
        W_query.device: vulkan:0
        mask.device: vulkan:0
        tensor([[[0.4772, 0.1063],
                 [0.5891, 0.3257],
                 [0.6202, 0.3860],
                 [0.5478, 0.3589],
                 [0.5321, 0.3428],
                 [0.5077, 0.3493]],

                [[0.4772, 0.1063],
                 [0.5891, 0.3257],
                 [0.6202, 0.3860],
                 [0.5478, 0.3589],
                 [0.5321, 0.3428],
                 [0.5077, 0.3493]]], device='vulkan:0')
        OrderedDict([('W_query.weight', tensor([[-0.2354,  0.0191, -0.2867],
                [ 0.2177, -0.4919,  0.4232]], device='vulkan:0')), ('W_key.weight', tensor([[-0.4196, -0.4590, -0.3648],
                [ 0.2615, -0.2133,  0.2161]], device='vulkan:0')), ('W_value.weight', tensor([[-0.4900, -0.3503, -0.2120],
                [-0.1135, -0.4404,  0.3780]], device='vulkan:0'))])
        OrderedDict([('mask', tensor([[0., 1., 1., 1., 1., 1.],
                [0., 0., 1., 1., 1., 1.],
                [0., 0., 0., 1., 1., 1.],
                [0., 0., 0., 0., 1., 1.],
                [0., 0., 0., 0., 0., 1.],
                [0., 0., 0., 0., 0., 0.]], device='vulkan:0')), ('W_query.weight', tensor([[-0.1362,  0.1853,  0.4083],
                [ 0.1076,  0.1579,  0.5573]], device='vulkan:0')), ('W_key.weight', tensor([[-0.2604,  0.1829, -0.2569],
                [ 0.4126,  0.4611, -0.5323]], device='vulkan:0')), ('W_value.weight', tensor([[ 0.4929,  0.2757,  0.2516],
                [ 0.2377,  0.4800, -0.0762]], device='vulkan:0'))])
        tensor([[0., 2., 2., 2., 2., 2.],
                [0., 0., 2., 2., 2., 2.],
                [0., 0., 0., 2., 2., 2.],
                [0., 0., 0., 0., 2., 2.],
                [0., 0., 0., 0., 0., 2.],
                [0., 0., 0., 0., 0., 0.]], device='vulkan:0')
        tensor([[0., 2., 2., 2., 2., 2.],
                [0., 0., 2., 2., 2., 2.],
                [0., 0., 0., 2., 2., 2.],
                [0., 0., 0., 0., 2., 2.],
                [0., 0., 0., 0., 0., 2.],
                [0., 0., 0., 0., 0., 0.]])
        tensor([[0., 1., 1., 1., 1., 1.],
                [0., 0., 1., 1., 1., 1.],
                [0., 0., 0., 1., 1., 1.],
                [0., 0., 0., 0., 1., 1.],
                [0., 0., 0., 0., 0., 1.],
                [0., 0., 0., 0., 0., 0.]])
        """

    func testBuffersNotebookOnVulkanPrintsTheBooksText() throws {
        var lines: [String] = []
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-buffers-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try runBuffersExample(device: .vulkan(0), saveDirectory: dir, output: { lines.append($0) })
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.pth").path), "the notebook's model.pth")
        let got = lines.joined(separator: "\n").components(separatedBy: "\n")
        let want = Self.expected.components(separatedBy: "\n")
        for i in 0..<max(got.count, want.count) {
            let g = i < got.count ? got[i] : "<missing>", w = i < want.count ? want[i] : "<none>"
            XCTAssertEqual(g, w, "line \(i + 1)")
        }
    }
}
