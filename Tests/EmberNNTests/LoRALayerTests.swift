import EmberCore
import EmberNN
import XCTest

/// The book's appendix E `LoRALayer`, `LinearWithLoRA`, `replace_linear_with_lora` and the merge, on
/// small layers (the GPT-sized checks against PyTorch are in EmberLLMTests' `LoRATests`).
final class LoRALayerTests: XCTestCase {
    /// `kaiming_uniform_(A, a=√5)` on `[in, rank]` is `uniform_(±bound)` with the fan-in = rank:
    /// bound 0.24999999999999997 in float64 for rank 16 (the fixture's `A_init_bound_f64`).
    func testAIsDrawnAsKaimingUniformWithFanInRank() {
        let bound = 3.0.squareRoot() * (2.0 / (1 + 5.0.squareRoot() * 5.0.squareRoot())).squareRoot() / 16.0.squareRoot()
        XCTAssertEqual(bound, 0.24999999999999997)
        manualSeed(42)
        let lora = LoRALayer(inDim: 8, outDim: 3, rank: 16, alpha: 16)
        manualSeed(42)
        let reference = Tensor.empty([8, 16]).uniform_(-0.24999999999999997, 0.24999999999999997)
        XCTAssertEqual(lora.A.toFloats(), reference.toFloats())
        XCTAssertEqual(lora.B.shape, [16, 3])
        XCTAssertEqual(lora.B.toFloats(), [Float](repeating: 0, count: 48))
        XCTAssertEqual(Array(lora.stateDict().keys), ["A", "B"])
    }

    /// Forward = `(alpha/rank)·((x·A)·B)` (scaling 2 here: alpha 8, rank 4, the fix of rasbt #821/#823).
    func testForwardScalesByAlphaOverRank() {
        manualSeed(0)
        let lora = LoRALayer(inDim: 5, outDim: 3, rank: 4, alpha: 8)
        _ = noGrad { lora.B.normal_() }
        let x = Tensor.randn([2, 7, 5])
        XCTAssertEqual(lora.scaling, 2)
        XCTAssertEqual(lora(x).toFloats(), (x.matmul(lora.A).matmul(lora.B) * 2.0).toFloats())
        XCTAssertEqual(lora(x).shape, [2, 7, 3])
    }

    /// `linear(x) + lora(x)`; keys `linear.weight`, `linear.bias`, `lora.A`, `lora.B`; with the base
    /// frozen only A and B get gradients, and A's is zero while B = 0 (∂/∂A = xᵀ·g·Bᵀ).
    func testLinearWithLoRAForwardKeysAndGradients() {
        manualSeed(1)
        let base = Linear(6, 4)
        base.requiresGrad_(false)
        let x = Tensor.randn([3, 6])
        let plain = base(x).toFloats()
        let layer = LinearWithLoRA(base, rank: 2, alpha: 2)
        XCTAssertEqual(Array(layer.stateDict().keys), ["linear.weight", "linear.bias", "lora.A", "lora.B"])
        XCTAssertEqual(layer(x).toFloats(), plain, "B = 0: the wrapped layer computes what the base did")
        XCTAssertTrue(layer.weight === base.weight)
        XCTAssertEqual(layer.numParameters(trainableOnly: true), 6 * 2 + 2 * 4)
        layer(x).sum().backward()
        XCTAssertNil(base.weight.grad)
        XCTAssertEqual(layer.lora.A.grad?.toFloats(), [Float](repeating: 0, count: 12))
        let expectedB = x.matmul(layer.lora.A).t().matmul(Tensor.ones([3, 4]))   // (x·A)ᵀ·g, scaling 1
        for (g, want) in zip(layer.lora.B.grad?.toFloats() ?? [], expectedB.toFloats()) { XCTAssertEqual(g, want, accuracy: 1e-5) }
        XCTAssertEqual(layer.lora.B.grad?.shape, [2, 4])
    }

    /// In a `Sequential`, every `Linear` is wrapped in named_children order; a second call wraps
    /// nothing; merging gives plain `Linear`s with the same outputs up to float32 rounding.
    func testReplaceAndMergeInASequential() throws {
        manualSeed(2)
        let model = Sequential(Linear(4, 8), ReLU(), Sequential(Linear(8, 8), ReLU()), Linear(8, 2))
        let x = Tensor.randn([5, 4])
        let before = model(x).toFloats()
        XCTAssertEqual(try replaceLinearWithLoRA(model, rank: 3, alpha: 6), ["0", "2.0", "3"])
        XCTAssertEqual(try replaceLinearWithLoRA(model, rank: 3, alpha: 6), [], "already wrapped layers are left alone")
        XCTAssertEqual(model(x).toFloats(), before)
        XCTAssertTrue(model[0] is LinearWithLoRA && model[3] is LinearWithLoRA)
        for case let l as LinearWithLoRA in model.modules() { _ = noGrad { l.lora.B.normal_() } }
        let unmerged = model(x).toFloats()
        XCTAssertNotEqual(unmerged, before)
        XCTAssertEqual(try mergeLoRA(model), ["0", "2.0", "3"])
        XCTAssertTrue(model[0] is Linear && model[3] is Linear)
        for (a, b) in zip(model(x).toFloats(), unmerged) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertEqual(model.stateDict().keys.count, 6)
    }

    final class TypedNet: Module {
        @Child var fc: Linear
        @Child var head: any LinearLayer
        override init() {
            fc = Linear(3, 3)
            head = Linear(3, 1)
            super.init()
        }
    }

    /// A `Linear` in a property declared `Linear` cannot hold the wrapper: a TypeError before anything
    /// is drawn or replaced (the module and the generator are untouched).
    func testATypedLinearPropertyIsRefusedWithNothingChanged() throws {
        manualSeed(3)
        let net = TypedNet()
        let state = Generator.default.getState()
        XCTAssertThrowsError(try replaceLinearWithLoRA(net, rank: 2, alpha: 2)) { error in
            XCTAssertTrue("\(error)".contains("TypedNet.fc is declared as Linear"), "\(error)")
        }
        XCTAssertTrue(net.head is Linear)
        XCTAssertEqual(Generator.default.getState(), state)
        XCTAssertThrowsError(try net.setChild(named: "fc", LinearWithLoRA(Linear(3, 3), rank: 1, alpha: 1)))
        XCTAssertThrowsError(try net.setChild(named: "nope", Linear(1, 1)))
        XCTAssertThrowsError(try replaceLinearWithLoRA(net, rank: 0, alpha: 2))
        try net.setChild(named: "head", LinearWithLoRA(net.head as! Linear, rank: 1, alpha: 1))
        XCTAssertTrue(net.head is LinearWithLoRA)
        XCTAssertEqual(net.head.weight.shape, [1, 3])
    }

    /// `print(model)` after `replace_linear_with_lora` shows each wrapped layer as the appendix E notebook does.
    func testDescriptionMatchesPyTorchsPrint() {
        let layer = LinearWithLoRA(Linear(768, 768, device: .meta), rank: 16, alpha: 16)
        XCTAssertEqual(layer.description, """
            LinearWithLoRA(
              (linear): Linear(in_features=768, out_features=768, bias=True)
              (lora): LoRALayer()
            )
            """)
    }

    /// Python's `f"{n:,}"`.
    func testFormatThousands() {
        XCTAssertEqual([0, 7, 999, 1000, 37920, 2_666_528, 124_441_346, -1_234_567].map(formatThousands),
                       ["0", "7", "999", "1,000", "37,920", "2,666,528", "124,441,346", "-1,234,567"])
    }
}
