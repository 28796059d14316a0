import Foundation
import XCTest
@testable import EmberCore
@testable import EmberNN

final class LossTests: XCTestCase {
    private func message(_ body: () -> Void) -> String {
        do { try withErrorCapture { body() }; return "" } catch { return "\(error)" }
    }

    private func close(_ a: [Float], _ e: [Double], tol: Double = 2e-6, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, e.count, "\(what): count", file: file, line: line)
        for (i, (x, y)) in zip(a, e).enumerated() where !(abs(Double(x) - y) <= tol * max(1, abs(y))) {
            XCTFail("\(what)[\(i)]: got \(x), want \(y) (diff \(abs(Double(x) - y)))", file: file, line: line)
            return
        }
    }

    // MARK: - PyTorch values (fixture losses.json)

    /// `F.cross_entropy` on [4, 7] logits with one target = -100 (ignored), reductions mean/sum/none:
    /// losses and input gradients equal PyTorch's; grad_fn is NllLossBackward0.
    func testCrossEntropyMatchesPyTorch() throws {
        let f = try optimFixture("losses.json")
        for red in [Reduction.mean, .sum, .none] {
            let c = try XCTUnwrap(f["ce_\(red.rawValue)"] as? [String: Any])
            let x = optimTensor(c["logits"], shape: c["shape"] as? [Int], requiresGrad: true)
            let t = Tensor(array: optimDoubles(c["targets"]).map { Int64($0) })
            let y = crossEntropy(x, t, reduction: red)
            XCTAssertEqual(y.gradFn?.name, "NllLossBackward0")
            close(y.toFloats(), optimDoubles(c["loss"]), "ce \(red) loss")
            y.backward(red == .none ? Tensor.onesLike(y) : nil)
            close(x.grad!.toFloats(), optimDoubles(c["grad"]), "ce \(red) grad")
        }
    }

    /// [N, C, d] logits with an ignored position: PyTorch's loss, gradient and NllLoss2DBackward0.
    func testCrossEntropySpatialMatchesPyTorch() throws {
        let c = try XCTUnwrap(try optimFixture("losses.json")["ce_spatial"] as? [String: Any])
        let x = optimTensor(c["logits"], shape: c["shape"] as? [Int], requiresGrad: true)
        let t = Tensor(array: optimDoubles(c["targets"]).map { Int64($0) }, shape: c["target_shape"] as? [Int])
        let y = crossEntropy(x, t)
        XCTAssertEqual(y.gradFn?.name, c["grad_fn"] as? String)
        close(y.toFloats(), optimDoubles(c["loss"]), "loss")
        y.backward()
        close(x.grad!.toFloats(), optimDoubles(c["grad"]), "grad")
    }

    /// Probability targets (soft labels): PyTorch's loss, gradient and grad_fn DivBackward1.
    func testCrossEntropyProbabilityTargetsMatchPyTorch() throws {
        let c = try XCTUnwrap(try optimFixture("losses.json")["ce_prob"] as? [String: Any])
        let x = optimTensor(c["logits"], shape: [3, 4], requiresGrad: true)
        let y = crossEntropy(x, optimTensor(c["targets"], shape: [3, 4]))
        XCTAssertEqual(y.gradFn?.name, c["grad_fn"] as? String)
        close(y.toFloats(), optimDoubles(c["loss"]), "loss")
        y.backward()
        close(x.grad!.toFloats(), optimDoubles(c["grad"]), "grad")
    }

    /// `F.nll_loss`, BCE, BCE-with-logits (sum) and MSE with a broadcast target: PyTorch's values
    /// and gradients, and PyTorch's grad_fn names.
    func testNllBceMseMatchPyTorch() throws {
        let f = try optimFixture("losses.json")
        let n = try XCTUnwrap(f["nll"] as? [String: Any])
        let lp = optimTensor(n["input"], shape: [3, 5], requiresGrad: true)
        let y1 = nllLoss(lp, Tensor(array: optimDoubles(n["targets"]).map { Int64($0) }))
        XCTAssertEqual(y1.gradFn?.name, "NllLossBackward0")
        close(y1.toFloats(), optimDoubles(n["loss"]), "nll loss")
        y1.backward(); close(lp.grad!.toFloats(), optimDoubles(n["grad"]), "nll grad")

        let b = try XCTUnwrap(f["bce"] as? [String: Any])
        let p = optimTensor(b["input"], requiresGrad: true)
        let y2 = binaryCrossEntropy(p, optimTensor(b["targets"]))
        XCTAssertEqual(y2.gradFn?.name, "BinaryCrossEntropyBackward0")
        close(y2.toFloats(), optimDoubles(b["loss"]), "bce loss")
        y2.backward(); close(p.grad!.toFloats(), optimDoubles(b["grad"]), "bce grad")

        let l = try XCTUnwrap(f["bce_logits_sum"] as? [String: Any])
        let z = optimTensor(l["input"], requiresGrad: true)
        let y3 = binaryCrossEntropyWithLogits(z, optimTensor(l["targets"]), reduction: .sum)
        XCTAssertEqual(y3.gradFn?.name, "BinaryCrossEntropyWithLogitsBackward0")
        close(y3.toFloats(), optimDoubles(l["loss"]), "bce-logits loss")
        y3.backward(); close(z.grad!.toFloats(), optimDoubles(l["grad"]), "bce-logits grad")

        let m = try XCTUnwrap(f["mse_broadcast"] as? [String: Any])
        let a = optimTensor(m["input"], shape: [3, 4], requiresGrad: true)
        let t = optimTensor(m["target"], shape: [4], requiresGrad: true)
        let y4 = mseLoss(a, t)
        XCTAssertEqual(y4.gradFn?.name, "MseLossBackward0")
        close(y4.toFloats(), optimDoubles(m["loss"]), "mse loss")
        y4.backward()
        close(a.grad!.toFloats(), optimDoubles(m["grad_input"]), "mse grad input")
        close(t.grad!.toFloats(), optimDoubles(m["grad_target"]), "mse grad target")
    }

    // MARK: - Book cases

    /// C38 (chapter 5): the six target log-probabilities of the untrained model are
    /// [-9.5042, -10.3796, -11.3677, -11.4798, -9.7764, -12.2561]; cross-entropy over [6, 50257]
    /// logits → tensor(10.7940) and perplexity exp(loss) → tensor(48725.8203). The model is not
    /// needed: each row's logits are 0 except the target's, chosen so that log_softmax at the target
    /// equals the printed log-probability (a = lp + log(50256) − log(1 − e^lp)). The printed values
    /// are rounded to 4 decimals, so the perplexity matches to ±3.
    func testC38CrossEntropyAndPerplexity() {
        let vocab = 50257
        let lps = [-9.5042, -10.3796, -11.3677, -11.4798, -9.7764, -12.2561]
        let targets: [Int64] = [3626, 6100, 345, 1107, 588, 11311]
        var values = [Float](repeating: 0, count: 6 * vocab)
        for (i, lp) in lps.enumerated() {
            values[i * vocab + Int(targets[i])] = Float(lp + Foundation.log(Double(vocab - 1)) - Foundation.log(1 - Foundation.exp(lp)))
        }
        let logits = Tensor(array: values, shape: [2, 3, vocab])
        let loss = crossEntropy(logits.flatten(0, 1), Tensor(array: targets, shape: [2, 3]).flatten())
        XCTAssertEqual(loss.item(), 10.7940, accuracy: 5e-5)
        XCTAssertEqual(loss.exp().item(), 48725.8203, accuracy: 3)
    }

    /// C63 (appendix A): y = 1, x1 = 1.1, w1 = 2.2, b = 0; a = sigmoid(x1·w1 + b);
    /// binary_cross_entropy(a, y) → 0.0852; after backward w1.grad = -0.0898, b.grad = -0.0817.
    func testC63BinaryCrossEntropyLogisticUnit() {
        let y = Tensor([1.0]), x1 = Tensor([1.1])
        let w1 = Tensor([2.2], requiresGrad: true), b = Tensor([0.0], requiresGrad: true)
        let a = (x1 * w1 + b).sigmoid()
        let loss = binaryCrossEntropy(a, y)
        XCTAssertEqual(loss.item(), 0.0852, accuracy: 5e-5)
        loss.backward()
        XCTAssertEqual(w1.grad!.item(), -0.0898, accuracy: 5e-5)
        XCTAssertEqual(b.grad!.item(), -0.0817, accuracy: 5e-5)
    }

    // MARK: - Rules and errors

    /// Every target ignored: the mean is 0/0 = NaN, as PyTorch returns; sum is 0.
    func testCrossEntropyAllIgnoredIsNaN() {
        let x = Tensor.randn([3, 5])
        let t = Tensor([-100, -100, -100])
        XCTAssertTrue(crossEntropy(x, t).item().isNaN)
        XCTAssertEqual(crossEntropy(x, t, reduction: .sum).item(), 0)
    }

    /// PyTorch's messages for bad targets (checked against torch 2.13).
    func testLossErrorsUsePyTorchWording() {
        let x = Tensor.randn([3, 5])
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor([1, 2])) },
                       "ValueError: Expected input batch_size (3) to match target batch_size (2).")
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor([1, 2, 3], dtype: .int32)) },
                       "RuntimeError: expected target dtype to be Long or Byte, but got Int")
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor([1.0, 2.0, 3.0])) },
                       "RuntimeError: expected target dtype to be Long or Byte, but got Float")
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor([1, 2, 7])) }, "IndexError: Target 7 is out of bounds.")
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor([1, 2, -1])) }, "IndexError: Target -1 is out of bounds.")
        XCTAssertEqual(message { _ = crossEntropy(Tensor.randn([2, 5, 4]), Tensor.zeros([2, 3], dtype: .int64)) },
                       "RuntimeError: Expected target size [2, 4], got [2, 3]")
        XCTAssertEqual(message { _ = crossEntropy(x, Tensor.zeros([3, 4])) },
                       "RuntimeError: 0D or 1D target tensor expected, multi-target not supported")
        XCTAssertEqual(message { _ = binaryCrossEntropy(Tensor([0.5, 0.5, 0.5]), Tensor([1.0, 0.0])) },
                       "ValueError: Using a target size (torch.Size([2])) that is different to the input size (torch.Size([3])) is deprecated. Please ensure they have the same size.")
        XCTAssertEqual(message { _ = binaryCrossEntropy(Tensor([1.5]), Tensor([1.0])) },
                       "RuntimeError: all elements of input should be between 0 and 1")
        XCTAssertEqual(message { _ = binaryCrossEntropyWithLogits(Tensor([0.5, 0.5, 0.5]), Tensor([1.0, 0.0])) },
                       "ValueError: Target size (torch.Size([2])) must be the same as input size (torch.Size([3]))")
    }

    /// One unbatched sample ([C] logits, 0-d target) gives a 0-d loss, as PyTorch's.
    func testCrossEntropyUnbatched() {
        let x = Tensor([1.0, 2.0, 3.0])
        let y = crossEntropy(x, Tensor(2), reduction: .none)
        XCTAssertEqual(y.shape, [])
        let expected = 3 - Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))
        XCTAssertEqual(y.item(), -expected, accuracy: 1e-6)
    }

    /// The GPT-2 training shape [512, 50257] (book chapter 5: batch 2 × 256 tokens; 32 rows in debug
    /// builds, where unoptimized SIMD code is slow): the loss equals the mean of per-row log-softmax
    /// values, the fused backward's rows sum to zero (softmax − one-hot) and match
    /// (softmax − one_hot)/N on a sampled row; forward and backward times are printed.
    func testCrossEntropyLargeVocabulary() {
        #if DEBUG
        let n = 32
        #else
        let n = 512
        #endif
        let v = 50257
        let logits = Tensor.randn([n, v]); logits.requiresGrad = true
        let targets = Tensor.randint(0, v, [n])
        _ = noGrad { crossEntropy(logits, targets) }   // warm the allocator's cache (first-touch page faults)
        let t0 = Date()
        let loss = crossEntropy(logits, targets)
        let t1 = Date()
        loss.backward()
        let t2 = Date()
        print(String(format: "cross_entropy [\(n), 50257]: forward %.1f ms, backward %.1f ms",
                     t1.timeIntervalSince(t0) * 1000, t2.timeIntervalSince(t1) * 1000))
        let g = logits.grad!
        let row = 17
        let x = logits[row].toDoubles()
        let m = x.max()!
        let z = x.reduce(0) { $0 + Foundation.exp($1 - m) }
        let t = targets[row].intItem()
        let gr = g[row].toDoubles()
        XCTAssertEqual(gr.reduce(0, +), 0, accuracy: 1e-7)
        for j in [0, t, v - 1] {
            let want = (Foundation.exp(x[j] - m) / z - (j == t ? 1 : 0)) / Double(n)
            XCTAssertEqual(gr[j], want, accuracy: 1e-9, "grad[\(row), \(j)]")
        }
        let lossWant = (0..<n).reduce(0.0) { acc, i in
            acc - logits.detach()[i].logSoftmax(0)[targets[i].intItem()].item()
        } / Double(n)
        XCTAssertEqual(loss.item(), lossWant, accuracy: 1e-5)
    }
}
