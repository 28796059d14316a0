import EmberCore
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

// The book's chapter-3 and appendix-A cases (C12 … C64, docs/cases.md), written the Swift way. Printed outputs are compared as whole strings.

// MARK: - Helpers shared by the EmberNN tests

/// Asserts `t` has `expected` values (row-major) within `tol`; the message names the tensor and the
/// largest difference and where it is.
func assertValues(_ t: Tensor, _ expected: [Double], tol: Double = 1e-4, _ what: String,
                  file: StaticString = #filePath, line: UInt = #line) {
    let got = t.toDoubles()
    guard got.count == expected.count else {
        XCTFail("\(what): \(got.count) elements, expected \(expected.count) (shape \(t.shape))", file: file, line: line)
        return
    }
    var worst = 0.0, at = 0
    for i in got.indices {
        let d = got[i].isNaN && expected[i].isNaN ? 0 : Swift.abs(got[i] - expected[i])
        if !(d <= worst) { worst = d; at = i }
    }
    XCTAssert(worst <= tol, "\(what): maxdiff \(worst) at flat index \(at) (got \(got[at]), expected \(expected[at]))",
              file: file, line: line)
}

/// The book's six 3-d token embeddings ("Your journey starts with one step"), chapter 3.
func bookInputs() -> Tensor {
    Tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
            [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])
}

// MARK: - The book's modules (chapter 3, appendix A)

/// Book §3.4.1 `SelfAttention_v1`: three `nn.Parameter(torch.rand(d_in, d_out))` matrices.
final class SelfAttentionV1: Module {
    @Parameter var W_query: Tensor
    @Parameter var W_key: Tensor
    @Parameter var W_value: Tensor
    init(dIn: Int, dOut: Int) {
        W_query = Tensor.rand(dIn, dOut)
        W_key = Tensor.rand(dIn, dOut)
        W_value = Tensor.rand(dIn, dOut)
    }
    func callAsFunction(_ x: Tensor) -> Tensor {        // x: [numTokens, dIn]
        let keys = x.matmul(W_key), queries = x.matmul(W_query), values = x.matmul(W_value)
        let scores = queries.matmul(keys.T)               // [numTokens, numTokens]
        let weights = softmax(scores / Double(keys.shape[1]).squareRoot(), dim: -1)
        return weights.matmul(values)                     // [numTokens, dOut]
    }
}

/// Book §3.4.2 `SelfAttention_v2`: `nn.Linear(d_in, d_out, bias=qkv_bias)` projections.
final class SelfAttentionV2: Module {
    @Child var W_query: Linear
    @Child var W_key: Linear
    @Child var W_value: Linear
    init(dIn: Int, dOut: Int, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
    }
    /// The attention weights before dropout, optionally causal (book §3.5.1, C20).
    func weights(_ x: Tensor, causal: Bool = false) -> Tensor {
        let keys = W_key(x), queries = W_query(x)
        var scores = queries.matmul(keys.T)
        if causal {
            let n = x.shape[0]
            scores = scores.maskedFill(Tensor.ones([n, n]).triu(diagonal: 1).bool(), -Double.infinity)
        }
        return softmax(scores / Double(keys.shape[1]).squareRoot(), dim: -1)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { weights(x).matmul(W_value(x)) }
}

/// Book §3.6.2 `MultiHeadAttention`, line for line.
final class MultiHeadAttention: Module {
    let dOut: Int, numHeads: Int, headDim: Int
    @Child var W_query: Linear
    @Child var W_key: Linear
    @Child var W_value: Linear
    @Child var out_proj: Linear
    @Child var dropout: Dropout
    @Buffer var mask: Tensor
    init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, numHeads: Int, qkvBias: Bool = false) {
        precondition(dOut % numHeads == 0, "d_out must be divisible by num_heads")
        self.dOut = dOut
        self.numHeads = numHeads
        headDim = dOut / numHeads
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        out_proj = Linear(dOut, dOut)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, numTokens) = (x.shape[0], x.shape[1])
        // [b, numTokens, dOut] -> [b, numHeads, numTokens, headDim]
        let keys = W_key(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let queries = W_query(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let values = W_value(x).view(b, numTokens, numHeads, headDim).transpose(1, 2)
        let scores = queries.matmul(keys.transpose(2, 3))            // [b, numHeads, numTokens, numTokens]
        scores.maskedFill_(mask.bool()[..<numTokens, ..<numTokens], -Double.infinity)
        let weights = dropout(softmax(scores / Double(keys.shape[3]).squareRoot(), dim: -1))
        let context = weights.matmul(values).transpose(1, 2)         // [b, numTokens, numHeads, headDim]
        return out_proj(context.contiguous().view(b, numTokens, dOut))
    }
}

/// Appendix A.5 `NeuralNetwork`: two hidden layers (30, 20) with ReLU.
final class NeuralNetwork: Module {
    @Child var layers: Sequential
    init(numInputs: Int, numOutputs: Int) {
        layers = Sequential(
            Linear(numInputs, 30), ReLU(),          // 1st hidden layer
            Linear(30, 20), ReLU(),                 // 2nd hidden layer
            Linear(20, numOutputs))                 // output layer
    }
    func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}

// MARK: - Cases

final class BookCaseTests: XCTestCase {
    /// C12: `manual_seed(123); Embedding(6, 3)`, its weight and two lookups, printed exactly.
    func testC12EmbeddingSeed123() {
        manualSeed(123)
        let layer = Embedding(6, 3)
        XCTAssertEqual(layer.weight.description, """
            Parameter containing:
            tensor([[ 0.3374, -0.1778, -0.1690],
                    [ 0.9178,  1.5810,  1.3010],
                    [ 1.2753, -0.2010, -0.1606],
                    [-0.4015,  0.9666, -1.1481],
                    [-1.1589,  0.3255, -0.6315],
                    [-2.8400, -0.7849, -1.4096]], requires_grad=True)
            """)
        XCTAssertEqual(layer(Tensor([3])).description,
                       "tensor([[-0.4015,  0.9666, -1.1481]], grad_fn=<EmbeddingBackward0>)")
        XCTAssertEqual(layer(Tensor([2, 3, 5, 1])).description, """
            tensor([[ 1.2753, -0.2010, -0.1606],
                    [-0.4015,  0.9666, -1.1481],
                    [-2.8400, -0.7849, -1.4096],
                    [ 0.9178,  1.5810,  1.3010]], grad_fn=<EmbeddingBackward0>)
            """)
    }

    /// C18: attention by hand with `rand(3, 2)` weights (seed 123).
    func testC18TrainableWeightsByHand() {
        manualSeed(123)
        let W_query = Tensor.rand(3, 2), W_key = Tensor.rand(3, 2), W_value = Tensor.rand(3, 2)
        let inputs = bookInputs()
        let x2 = inputs[1]
        let query2 = x2.matmul(W_query)
        XCTAssertEqual(query2.description, "tensor([0.4306, 1.4551])")
        let keys = inputs.matmul(W_key), values = inputs.matmul(W_value)
        XCTAssertEqual(keys.shape, [6, 2])
        XCTAssertEqual(values.shape, [6, 2])
        XCTAssertEqual(query2.dot(keys[1]).description, "tensor(1.8524)")
        let scores2 = query2.matmul(keys.T)
        XCTAssertEqual(scores2.description, "tensor([1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440])")
        let weights2 = softmax(scores2 / 2.0.squareRoot(), dim: -1)
        XCTAssertEqual(weights2.description, "tensor([0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820])")
        XCTAssertEqual(weights2.matmul(values).description, "tensor([0.3061, 0.8210])")
    }

    /// C19: SelfAttention_v1 (seed 123) and SelfAttention_v2 (seed 789), printed exactly.
    func testC19SelfAttentionV1V2() {
        manualSeed(123)
        let v1 = SelfAttentionV1(dIn: 3, dOut: 2)
        XCTAssertEqual(v1(bookInputs()).description, """
            tensor([[0.2996, 0.8053],
                    [0.3061, 0.8210],
                    [0.3058, 0.8203],
                    [0.2948, 0.7939],
                    [0.2927, 0.7891],
                    [0.2990, 0.8040]], grad_fn=<MmBackward0>)
            """)
        manualSeed(789)
        let v2 = SelfAttentionV2(dIn: 3, dOut: 2)
        XCTAssertEqual(v2(bookInputs()).description, """
            tensor([[-0.0739,  0.0713],
                    [-0.0748,  0.0703],
                    [-0.0749,  0.0702],
                    [-0.0760,  0.0685],
                    [-0.0763,  0.0679],
                    [-0.0754,  0.0693]], grad_fn=<MmBackward0>)
            """)
    }

    /// C21: `Dropout(0.5)` (train mode by default) on ones(6, 6), then on C20's causal weights.
    func testC21DropoutSeed123() {
        manualSeed(123)
        let dropout = Dropout(0.5)
        XCTAssertTrue(dropout.isTraining)
        XCTAssertEqual(dropout(Tensor.ones([6, 6])).description, """
            tensor([[2., 2., 0., 2., 2., 0.],
                    [0., 0., 0., 2., 0., 2.],
                    [2., 2., 2., 2., 0., 2.],
                    [0., 2., 2., 0., 0., 2.],
                    [0., 2., 0., 2., 0., 2.],
                    [0., 2., 2., 2., 2., 0.]])
            """)
        manualSeed(789)
        let weights = SelfAttentionV2(dIn: 3, dOut: 2).weights(bookInputs(), causal: true)   // C20
        manualSeed(123)
        // Same values as the book; the suffix wraps as PyTorch's `_add_suffixes` wraps it (the last
        // line is 57 characters, 57 + 2 + 2 + len("grad_fn=<MulBackward0>") > linewidth 80), which
        // the book's printout (case C21, docs/cases.md) shows joined on one line.
        XCTAssertEqual(dropout(weights).description, """
            tensor([[2.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
                    [0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
                    [0.7599, 0.6194, 0.6206, 0.0000, 0.0000, 0.0000],
                    [0.0000, 0.4921, 0.4925, 0.0000, 0.0000, 0.0000],
                    [0.0000, 0.3966, 0.0000, 0.3775, 0.0000, 0.0000],
                    [0.0000, 0.3327, 0.3331, 0.3084, 0.3331, 0.0000]],
                   grad_fn=<MulBackward0>)
            """)
    }

    /// C22: CausalAttention (seed 123) on two copies of the inputs; the whole printed output.
    func testC22CausalAttentionPrinted() {
        let batch = Tensor.stack([bookInputs(), bookInputs()], dim: 0)
        XCTAssertEqual(batch.shape, [2, 6, 3])
        manualSeed(123)
        let ca = CausalAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        let context = ca(batch)
        XCTAssertEqual(context.description, """
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
                     [-0.5299, -0.1081]]], grad_fn=<UnsafeViewBackward0>)
            """)
        XCTAssertEqual(context.shape, [2, 6, 2])
    }

    /// C24: MultiHeadAttention as the book writes it (seed 123, 2 heads, d_out 2).
    func testC24MultiHeadAttention() {
        let batch = Tensor.stack([bookInputs(), bookInputs()], dim: 0)
        manualSeed(123)
        let mha = MultiHeadAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0, numHeads: 2)
        let context = mha(batch)
        XCTAssertEqual(context.shape, [2, 6, 2])
        XCTAssertEqual(context.gradFn?.name, "ViewBackward0")
        let item: [Double] = [0.3190, 0.4858, 0.2943, 0.3897, 0.2856, 0.3593,
                              0.2693, 0.3873, 0.2639, 0.3928, 0.2575, 0.4028]
        assertValues(context, item + item, tol: 5e-5, "C24 context_vecs")
        XCTAssertEqual(Array(mha.stateDict().keys), ["mask", "W_query.weight", "W_key.weight", "W_value.weight",
                                                     "out_proj.weight", "out_proj.bias"])
    }

    /// C62: tensor basics (dtypes, reshape/view, `.T`, matmul).
    func testC62TensorBasics() {
        XCTAssertEqual(Tensor([1, 2, 3]).dtype, .int64)
        XCTAssertEqual(Tensor([1.0, 2.0, 3.0]).dtype, .float32)
        XCTAssertEqual(Tensor([1, 2, 3]).to(.float32).dtype, .float32)
        let tensor2d = Tensor([[1, 2, 3], [4, 5, 6]])
        XCTAssertEqual(tensor2d.shape, [2, 3])
        XCTAssertEqual(tensor2d.reshape(3, 2).description, "tensor([[1, 2],\n        [3, 4],\n        [5, 6]])")
        XCTAssertTrue(tensor2d.view(3, 2).equal(tensor2d.reshape(3, 2)))
        XCTAssertEqual(tensor2d.T.description, "tensor([[1, 4],\n        [2, 5],\n        [3, 6]])")
        let product = tensor2d.to(.float32).matmul(tensor2d.to(.float32).T)
        XCTAssertEqual(product.toDoubles(), [14, 32, 32, 77])
    }

    /// C63: autograd on a logistic unit: `autograd.grad`, then `backward()` into `.grad`.
    func testC63LogisticUnitAutograd() throws {
        let y = Tensor([1.0]), x1 = Tensor([1.1])
        let w1 = Tensor([2.2], requiresGrad: true), b = Tensor([0.0], requiresGrad: true)
        let a = (x1 * w1 + b).sigmoid()
        // F.binary_cross_entropy(a, y) written out: −mean(y·log a + (1−y)·log(1−a)).
        let loss = -(y * a.log() + (1 - y) * (1 - a).log()).mean()
        XCTAssertEqual(String(format: "%.4f", loss.item()), "0.0852")
        let gradW1 = try XCTUnwrap(Autograd.grad(outputs: [loss], inputs: [w1], retainGraph: true)[0])
        let gradB = try XCTUnwrap(Autograd.grad(outputs: [loss], inputs: [b], retainGraph: true)[0])
        XCTAssertEqual(gradW1.description, "tensor([-0.0898])")
        XCTAssertEqual(gradB.description, "tensor([-0.0817])")
        XCTAssertNil(w1.grad, "autograd.grad must not touch .grad")
        loss.backward()
        XCTAssertEqual(w1.grad?.description, "tensor([-0.0898])")
        XCTAssertEqual(b.grad?.description, "tensor([-0.0817])")
    }

    /// C64: NeuralNetwork(50, 3): parameter count, printed first weight, forward.
    func testC64NeuralNetwork() {
        XCTAssertEqual(NeuralNetwork(numInputs: 50, numOutputs: 3).numParameters(trainableOnly: true), 2213)
        XCTAssertEqual(NeuralNetwork(numInputs: 2, numOutputs: 2).numParameters(), 752)   // exercise A.3
        manualSeed(123)
        let model = NeuralNetwork(numInputs: 50, numOutputs: 3)
        let w0 = (model.layers[0] as! Linear).weight
        XCTAssertEqual(w0.shape, [30, 50])
        XCTAssertEqual(w0.description, """
            Parameter containing:
            tensor([[-0.0577,  0.0047, -0.0702,  ...,  0.0222,  0.1260,  0.0865],
                    [ 0.0502,  0.0307,  0.0333,  ...,  0.0951,  0.1134, -0.0297],
                    [ 0.1077, -0.1108,  0.0122,  ...,  0.0108, -0.1049, -0.1063],
                    ...,
                    [-0.0787,  0.1259,  0.0803,  ...,  0.1218,  0.1303, -0.1351],
                    [ 0.1359,  0.0175, -0.0673,  ...,  0.0674,  0.0676,  0.1058],
                    [ 0.0790,  0.1343, -0.0293,  ...,  0.0344, -0.0971, -0.0509]],
                   requires_grad=True)
            """)
        manualSeed(123)
        let X = Tensor.rand(1, 50)
        XCTAssertEqual(model(X).description, "tensor([[-0.1262,  0.1080, -0.1792]], grad_fn=<AddmmBackward0>)")
        let out = noGrad { model(X) }
        XCTAssertEqual(out.description, "tensor([[-0.1262,  0.1080, -0.1792]])")
        XCTAssertEqual(softmax(out, dim: 1).description, "tensor([[0.3113, 0.3934, 0.2952]])")
    }
}
