import EmberTestSupport
import Foundation
import XCTest
@testable import EmberCore

/// Every op the book's GPT uses, run on `.cpu` and on `.vulkan(0)` from the same seeded inputs and
/// compared element by element (the CPU results are themselves checked against PyTorch by the
/// other test files). Shapes stay small: in CI the Vulkan device is lavapipe, a correctness device.
/// Without a device the tests skip with the reason; with `CI` set they fail (issue #7: a broken
/// install must not turn into silent skips). Any Khronos validation-layer message fails the test
/// (``VulkanTestCase``).
final class VulkanDeviceTests: VulkanTestCase {
    /// Asserts `onVulkan` (moved back to the CPU) equals `onCPU` in shape, dtype and values.
    func assertSame(_ onCPU: Tensor, _ onVulkan: Tensor, tol: Double = 1e-5, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(onVulkan.device, vk, "\(what): result device", file: file, line: line)
        XCTAssertEqual(onCPU.shape, onVulkan.shape, "\(what): shape", file: file, line: line)
        XCTAssertEqual(onCPU.dtype, onVulkan.dtype, "\(what): dtype", file: file, line: line)
        let a = onCPU.toDoubles(), b = onVulkan.toDoubles()
        guard a.count == b.count else { return XCTFail("\(what): element counts", file: file, line: line) }
        var worst = 0.0, at = 0
        for i in 0..<a.count {
            if a[i].isNaN && b[i].isNaN { continue }
            if a[i] == b[i] { continue }
            let d = Swift.abs(a[i] - b[i]) / Swift.max(1, Swift.abs(a[i]))
            if !(d <= worst) || d.isNaN { worst = d.isNaN ? .infinity : d; at = i }
        }
        XCTAssertLessThanOrEqual(worst, tol, "\(what): max relative diff \(worst) at \(at) (cpu \(a[at]), vulkan \(b[at]))",
                                 file: file, line: line)
    }

    func testDeviceStringsAndMoves() {
        XCTAssertEqual(vk.description, "vulkan:0")
        XCTAssertEqual(Device("vulkan:0"), vk)
        let x = Tensor.randn([3, 4])
        let y = x.to(vk)
        XCTAssertEqual(y.device, vk)
        XCTAssertEqual(y.cpu().toFloats(), x.toFloats(), "upload then download is exact")
        XCTAssertEqual(Tensor.zeros([2, 3], device: vk).cpu().toFloats(), [Float](repeating: 0, count: 6))
        XCTAssertEqual(Tensor.ones([2], dtype: .int64, device: vk).cpu().toInt64s(), [1, 1])
        XCTAssertEqual(Tensor.arange(5, device: vk).cpu().toInt64s(), [0, 1, 2, 3, 4])
        XCTAssertNotNil(Device.vulkan(1).unavailableReason, "one device per process")
    }

    func testPrintingEndsWithDevice() {
        let t = Tensor([[1.0, 2.0], [3.0, 4.0]]).to(vk)
        XCTAssertEqual(t.description, "tensor([[1., 2.],\n        [3., 4.]], device='vulkan:0')")
    }

    func testMixedDevicesRaisePyTorchsError() {
        let a = Tensor.ones([2]), b = Tensor.ones([2], device: vk)
        XCTAssertEqual(errorMessage { _ = a + b }, "Expected all tensors to be on the same device, but found at least two devices, vulkan:0 and cpu!")
        let mask = Tensor.ones([2], dtype: .bool)
        XCTAssertEqual(errorMessage { b.maskedFill_(mask, 0) }, "expected self and mask to be on the same device, but got mask on cpu and self on vulkan:0")
    }

    func testCastsAndStridedCopies() {
        let x = Tensor.randn([4, 6]) * 3
        let v = x.to(vk)
        for dt in [DType.float16, .bfloat16, .int64, .int32, .bool, .uint8, .float64] {
            assertSame(x.to(dt), v.to(dt), tol: 0, "to(\(dt))")
        }
        assertSame(x.t().contiguous(), v.t().contiguous(), tol: 0, "transpose copy")
        assertSame(x[1..., stride(from: 0, to: 6, by: 2)].contiguous(), v[1..., stride(from: 0, to: 6, by: 2)].contiguous(), tol: 0, "strided slice")
        assertSame(Tensor.cat([x, x * 2], dim: 1), Tensor.cat([v, v * 2], dim: 1), tol: 0, "cat")
        let w = v.clone()
        w[0] = Tensor(7.0)
        XCTAssertEqual(w.cpu()[0].toFloats(), [Float](repeating: 7, count: 6), "write through a view")
        XCTAssertEqual(v.to(.float64).cpu().toDoubles(), x.toDoubles().map { Double(Float($0)) }, "float64 via the host path")
    }

    func testUnaryOps() {
        let x = Tensor.randn([5, 7])
        let v = x.to(vk)
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("neg", { $0.neg() }), ("abs", { $0.abs() }), ("exp", { $0.exp() }), ("tanh", { $0.tanh() }),
            ("sigmoid", { $0.sigmoid() }), ("relu", { $0.relu() }), ("gelu tanh", { $0.gelu(approximate: "tanh") }),
            ("gelu", { $0.gelu() }), ("sqrt(|x|)", { $0.abs().sqrt() }), ("rsqrt", { ($0.abs() + 1).rsqrt() }),
            ("log", { ($0.abs() + 0.1).log() }), ("sin", { $0.sin() }), ("cos", { $0.cos() }), ("silu", { $0.silu() }),
            ("square", { $0.square() }), ("floor", { $0.floor() }), ("round", { ($0 * 4).round() }),
        ]
        for (name, f) in ops { assertSame(f(x), f(v), tol: 2e-6, name) }
    }

    func testBinaryOpsWithBroadcastingAndScalars() {
        let a = Tensor.randn([4, 1, 3]), b = Tensor.randn([5, 3])
        let va = a.to(vk), vb = b.to(vk)
        assertSame(a + b, va + vb, "add"); assertSame(a - b, va - vb, "sub")
        assertSame(a * b, va * vb, "mul"); assertSame(a / b, va / vb, "div")
        assertSame(a.maximum(b), va.maximum(vb), "maximum"); assertSame(a.minimum(b), va.minimum(vb), "minimum")
        assertSame(a.abs().pow(b), va.abs().pow(vb), tol: 1e-5, "pow")
        assertSame(a * 2.5 + 1, va * 2.5 + 1, "scalars")
        assertSame(a > b, va > vb, tol: 0, "gt"); assertSame(a == a, va == va, tol: 0, "eq")
        assertSame((a > 0) & (b < 0), (va > 0) & (vb < 0), tol: 0, "bool and")
        assertSame(a.half() * b.half(), va.half() * vb.half(), tol: 0, "float16 rounds like the CPU")
    }

    func testWhereAndMaskedFill() {
        let x = Tensor.randn([2, 4, 4])
        let mask = Tensor.ones([4, 4]).triu(diagonal: 1).bool()
        let v = x.to(vk), vm = mask.to(vk)
        assertSame(x.maskedFill(mask, -.infinity), v.maskedFill(vm, -.infinity), tol: 0, "masked_fill")
        let y = x.clone(), vy = v.clone()
        y.maskedFill_(mask, -.infinity); vy.maskedFill_(vm, -.infinity)
        assertSame(y, vy, tol: 0, "masked_fill_ (the book's causal mask)")
        assertSame(Tensor.where(x > 0, x, x * 0.1), Tensor.where(v > 0, v, v * 0.1), "where")
    }

    func testReductions() {
        let x = Tensor.randn([3, 4, 5])
        let v = x.to(vk)
        assertSame(x.sum(), v.sum(), tol: 1e-5, "sum all")
        for d in [[0], [1], [2], [0, 1], [1, 2], [0, 2]] {
            assertSame(x.sum(dims: d), v.sum(dims: d), tol: 1e-5, "sum \(d)")
            assertSame(x.mean(dims: d, keepdim: true), v.mean(dims: d, keepdim: true), tol: 1e-5, "mean \(d)")
        }
        assertSame(x.variance(dims: [-1], unbiased: false, keepdim: true), v.variance(dims: [-1], unbiased: false, keepdim: true), tol: 1e-5, "var (LayerNorm)")
        let (mx, ix) = x.max(1), (vmx, vix) = v.max(1)
        assertSame(mx, vmx, tol: 0, "max values"); assertSame(ix, vix, tol: 0, "max indices")
        assertSame(x.argmax(-1), v.argmax(-1), tol: 0, "argmax (greedy decoding)")
        assertSame(x.prod(2), v.prod(2), tol: 1e-5, "prod")
    }

    func testSoftmaxAndLogSoftmax() {
        let x = Tensor.randn([2, 3, 6]) * 4
        let v = x.to(vk)
        for d in [-1, 1, 0] {
            assertSame(x.softmax(d), v.softmax(d), tol: 1e-6, "softmax dim \(d)")
            assertSame(x.logSoftmax(d), v.logSoftmax(d), tol: 1e-5, "log_softmax dim \(d)")
        }
        let masked = x.maskedFill(Tensor.ones([6, 6]).triu(diagonal: 1).bool()[..<3], -.infinity)
        assertSame(masked.softmax(-1), masked.to(vk).softmax(-1), tol: 1e-6, "softmax of masked scores")
    }

    func testMatmulShapes() {
        let a = Tensor.randn([2, 3, 5, 7]), b = Tensor.randn([2, 3, 7, 4])
        assertSame(a.matmul(b), a.to(vk).matmul(b.to(vk)), tol: 1e-5, "batched 4-D (attention scores)")
        let w = Tensor.randn([9, 7])
        assertSame(a.matmul(w.t()), a.to(vk).matmul(w.to(vk).t()), tol: 1e-5, "x @ W^T, broadcast weight (Linear)")
        let m = Tensor.randn([70, 65]), n = Tensor.randn([65, 66])
        assertSame(m.matmul(n), m.to(vk).matmul(n.to(vk)), tol: 1e-5, "tiles with edges (70x65 @ 65x66)")
        assertSame(m.t().matmul(m), m.to(vk).t().matmul(m.to(vk)), tol: 1e-5, "transposed left operand")
        assertSame(m.half().matmul(n.half()), m.to(vk).half().matmul(n.to(vk).half()), tol: 2e-3, "float16 path")
    }

    func testIndexSelectAndIndexAdd() {
        let table = Tensor.randn([10, 4])
        let ids = Tensor([3, 0, 3, 9, 1])
        assertSame(table.indexSelect(0, ids), table.to(vk).indexSelect(0, ids.to(vk)), tol: 0, "embedding lookup")
        let src = Tensor.randn([5, 4])
        assertSame(Tensor.zeros([10, 4]).indexAdd(0, ids, src), Tensor.zeros([10, 4], device: vk).indexAdd(0, ids.to(vk), src.to(vk)),
                   tol: 1e-6, "index_add (embedding gradient, repeated ids accumulate)")
        assertSame(table.gather(1, Tensor([[0], [2], [1], [3], [0], [1], [2], [3], [0], [1]])),
                   table.to(vk).gather(1, Tensor([[0], [2], [1], [3], [0], [1], [2], [3], [0], [1]]).to(vk)), tol: 0, "gather")
    }

    /// Issue #12 item 1: the row kernels behind the seam (cross-entropy rows and backward, layer norm
    /// rows / input gradient / parameter gradients, softmax backward, gather and scatter-add on the
    /// last dim) give the CPU's values on vulkan:0, with no host fallback.
    func testRowKernelsBehindTheSeamMatchCPU() {
        let logits = Tensor.randn([5, 7]) * 3, ln = Tensor.randn([2, 3, 8]) * 2 + 1
        let w = Tensor.randn([8]), b = Tensor.randn([8]), mix = Tensor.randn([2, 3, 8])
        let targets: [Int64] = [3, -100, 0, 6, 2]
        func run(_ dev: Device) -> [Tensor] {
            var out: [Tensor] = []
            for reduction in [Reduction.mean, .sum, .none] {
                let x = logits.to(dev).detach().requiresGrad_()
                let loss = x.classNLLLoss(targets: targets, ignoreIndex: -100, reduction: reduction, logSoftmax: true,
                                          lossShape: [5], dtype: .float32, nodeName: "NllLossBackward0")
                XCTAssertEqual(loss.gradFn?.name, "NllLossBackward0")
                (loss * Tensor.arange(1.0, reduction == .none ? 6.0 : 2.0).to(dev)).sum().backward()
                out += [loss, x.grad!]
            }
            let x = ln.to(dev).detach().requiresGrad_(), wd = w.to(dev).detach().requiresGrad_(), bd = b.to(dev).detach().requiresGrad_()
            let y = x.nativeLayerNorm(normalizedShape: [8], weight: wd, bias: bd)
            (y * mix.to(dev)).sum().backward()
            out += [y, x.grad!, wd.grad!, bd.grad!]
            let plain = ln.to(dev).detach().requiresGrad_()
            let yp = plain.nativeLayerNorm(normalizedShape: [8])
            (yp * mix.to(dev)).sum().backward()
            out += [yp, plain.grad!]
            for log in [false, true] {
                let s = ln.to(dev).detach().requiresGrad_()
                let p = log ? s.logSoftmax(-1) : s.softmax(-1)
                (p * mix.to(dev)).sum().backward()
                out += [s.grad!]
            }
            let table = logits.to(dev).detach().requiresGrad_()
            let picked = table.gather(1, Tensor([[3], [0], [6], [6], [1]]).to(dev))
            (picked * Tensor([[1.0], [2.0], [3.0], [4.0], [5.0]]).to(dev)).sum().backward()
            out += [picked, table.grad!]
            return out
        }
        let c = run(.cpu)
        let before = HostFallbacks.snapshot
        let g = run(vk)
        XCTAssertEqual(HostFallbacks.snapshot, before, "every row kernel runs on vulkan:0")
        let names = ["CE mean", "dCE mean", "CE sum", "dCE sum", "CE none", "dCE none",
                     "layer norm", "layer norm dx", "layer norm dw", "layer norm db", "layer norm (no affine)", "its dx",
                     "softmax dx", "log_softmax dx", "gather last", "gather dx (scatter-add last)"]
        XCTAssertEqual(c.count, names.count)
        for (i, name) in names.enumerated() where i < c.count && i < g.count { assertSame(c[i], g[i], tol: 1e-4, name) }
    }

    func testAutogradOfAnAttentionBlockMatchesCPU() {
        // Scores, causal mask, softmax, weighted values, GELU MLP and a mean: the book's ch. 3–4 path.
        let x = Tensor.randn([2, 4, 8]), wq = Tensor.randn([8, 8]) * 0.3, wk = Tensor.randn([8, 8]) * 0.3
        let w1 = Tensor.randn([16, 8]) * 0.3, b1 = Tensor.randn([16]) * 0.1
        func run(_ dev: Device) -> [Tensor] {
            let params = [wq, wk, w1, b1].map { $0.detach().to(dev).requiresGrad_() }
            let xs = x.to(dev)
            let q = xs.matmul(params[0]), k = xs.matmul(params[1])
            var s = q.matmul(k.transpose(1, 2)) / Foundation.sqrt(8.0)
            s = s.maskedFill(Tensor.ones([4, 4], device: dev).triu(diagonal: 1).bool(), -.infinity)
            let ctx = s.softmax(-1).matmul(xs)
            let h = (ctx.matmul(params[2].t()) + params[3]).gelu(approximate: "tanh")
            let loss = (h * h).mean()
            loss.backward()
            return [loss] + params.map { $0.grad! }
        }
        let c = run(.cpu)
        let before = HostFallbacks.snapshot
        let g = run(vk)
        XCTAssertEqual(HostFallbacks.snapshot, before, "every kernel of the forward and backward pass runs on vulkan:0")
        for (i, name) in ["loss", "dWq", "dWk", "dW1", "db1"].enumerated() { assertSame(c[i], g[i], tol: 1e-4, name) }
    }

    func testRandomDrawsMatchTheCPUGenerator() {
        manualSeed(7)
        let a = Tensor.randn([3, 3])
        manualSeed(7)
        let b = Tensor.empty([3, 3], device: vk).normal_()
        assertSame(a, b, tol: 0, "normal_ on vulkan draws from the CPU generator")
    }

    func testFusedAdamWStepMatchesTheFormula() {
        // torch.optim.AdamW's update written out with tensor ops on the CPU, three steps.
        let p0 = Tensor.randn([33, 5]), lr = 4e-4, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1
        let p = p0.clone(), m = Tensor.zeros([33, 5]), v = Tensor.zeros([33, 5])
        let vp = p0.to(vk), vm = Tensor.zeros([33, 5], device: vk), vv = Tensor.zeros([33, 5], device: vk)
        for step in 1...3 {
            let g = Tensor.randn([33, 5])
            p.mul_(1 - lr * wd)
            m.copy_(m * b1 + g * (1 - b1))
            v.copy_(v * b2 + g * g * (1 - b2))
            let bc1 = 1 - Foundation.pow(b1, Double(step)), bc2 = 1 - Foundation.pow(b2, Double(step))
            p.copy_(p - (m / ((v.sqrt() / Foundation.sqrt(bc2)) + eps)) * (lr / bc1))
            XCTAssertTrue(vp.fusedAdamW_(grad: g.to(vk), expAvg: vm, expAvgSq: vv, lr: lr, beta1: b1, beta2: b2,
                                         eps: eps, weightDecay: wd, step: Double(step)), "vulkan:0 has the fused kernel")
        }
        assertSame(p, vp, tol: 1e-6, "parameters after 3 AdamW steps")
        assertSame(m, vm, tol: 1e-6, "exp_avg"); assertSame(v, vv, tol: 1e-6, "exp_avg_sq")
        XCTAssertTrue(p.clone().fusedAdamW_(grad: p, expAvg: m.clone(), expAvgSq: v.clone(), lr: lr, beta1: b1, beta2: b2, eps: eps,
                                            weightDecay: wd, step: 1),
                      "the CPU backend has its fused kernel behind the same seam")
    }
}
