import EmberCore
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

// nn.Module traversal, registration, modes, moves and descriptions, against PyTorch's rules
// (https://pytorch.org/docs/stable/generated/torch.nn.Module.html). Expected names and orders are
// what PyTorch 2.x returns for the same module written in Python (stated per test).

/// A block with own parameters, a persistent and a non-persistent buffer, a nil buffer, a nil
/// parameter, children and a plain (unregistered) tensor.
final class Block: Module {
    @Parameter var scale: Tensor
    @Parameter var shift: Tensor?                       // nil: like Linear(bias=False).bias
    @Buffer var mask: Tensor
    @Buffer(persistent: false) var positions: Tensor
    @Buffer(persistent: false) var cacheK: Tensor?      // nil until used (KV cache)
    @Child var proj: Linear
    @Child var act: GELU
    var plain: Tensor                                   // not registered
    override init() {
        scale = Tensor.ones([2])
        shift = nil
        mask = Tensor.ones([3, 3]).triu(diagonal: 1)
        proj = Linear(2, 2)
        act = GELU()
        plain = Tensor.zeros([2])
        super.init()
        positions = Tensor.arange(3)   // declared with arguments: assigned after super.init()
    }
}

final class Outer: Module {
    @Child var blocks: ModuleList
    @Child var head: Linear
    override init() {
        blocks = ModuleList([Block(), Block()])
        head = Linear(2, 1)
    }
}

final class ModuleTests: XCTestCase {
    override func setUp() { Module.warnsAboutUnregisteredTensors = false }

    /// Dotted names and order: own entries first, then children depth first (PyTorch's
    /// `named_parameters`, `named_buffers`, `named_children`, `named_modules`).
    func testNamedTraversalOrder() {
        let m = Outer()
        XCTAssertEqual(m.namedParameters().map { $0.0 }, [
            "blocks.0.scale", "blocks.0.proj.weight", "blocks.0.proj.bias",
            "blocks.1.scale", "blocks.1.proj.weight", "blocks.1.proj.bias", "head.weight", "head.bias",
        ])
        // Non-persistent buffers are listed, nil buffers are not (PyTorch `named_buffers`).
        XCTAssertEqual(m.namedBuffers().map { $0.0 }, ["blocks.0.mask", "blocks.0.positions", "blocks.1.mask", "blocks.1.positions"])
        XCTAssertEqual(m.namedChildren().map { $0.0 }, ["blocks", "head"])
        XCTAssertEqual(m.namedModules().map { $0.0 }, ["", "blocks", "blocks.0", "blocks.0.proj", "blocks.0.act",
                                                       "blocks.1", "blocks.1.proj", "blocks.1.act", "head"])
        XCTAssertEqual(m.modules().map { $0.typeName }, ["Outer", "ModuleList", "Block", "Linear", "GELU", "Block", "Linear", "GELU", "Linear"])
        XCTAssertEqual(m.namedParameters(recurse: false).count, 0)
        XCTAssertEqual(Block().namedParameters(recurse: false).map { $0.0 }, ["scale"])
        XCTAssertEqual(m.namedParameters(prefix: "model").first?.0, "model.blocks.0.scale")
        // Parameters are the module's own objects (identity), and leaves that require grad.
        let p = m.parameters()
        XCTAssertTrue(p[6] === (m.head as Linear).weight)
        XCTAssertTrue(p.allSatisfy { $0.isLeaf && $0.requiresGrad && $0.isParameter })
    }

    /// Sequential / ModuleList / ModuleDict name children by index or key; state-dict keys follow.
    func testContainerNaming() {
        let seq = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
        XCTAssertEqual(seq.count, 3)
        XCTAssertTrue(seq[-1] === seq[2])
        XCTAssertEqual(Array(seq.stateDict().keys), ["0.weight", "0.bias", "2.weight", "2.bias"])
        let list = ModuleList()
        list.append(Linear(1, 1, bias: false))
        list.append(Linear(1, 1, bias: false))
        XCTAssertEqual(Array(list.stateDict().keys), ["0.weight", "1.weight"])
        let dict = ModuleDict([("enc", Linear(1, 1)), ("dec", Linear(1, 1, bias: false))])
        dict["extra"] = Identity()
        XCTAssertEqual(dict.keys, ["enc", "dec", "extra"])
        XCTAssertEqual(Array(dict.stateDict().keys), ["enc.weight", "enc.bias", "dec.weight"])
        let holder = NeuralNetwork(numInputs: 2, numOutputs: 2)
        XCTAssertEqual(Array(holder.stateDict().keys),
                       ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"])
    }

    /// register_parameter / register_buffer / register_module follow declared entries, by name.
    func testRegisterByName() {
        let m = Module()
        m.registerBuffer("mask", Tensor.ones([2, 2]).triu(diagonal: 1), persistent: false)
        m.registerBuffer("keep", Tensor.ones([2]))
        m.registerParameter("w", Tensor.ones([2]))
        m.registerParameter("absent", nil)
        m.registerBuffer("none", nil)
        m.registerModule("lin", Linear(2, 2))
        XCTAssertEqual(m.namedParameters().map { $0.0 }, ["w", "lin.weight", "lin.bias"])
        XCTAssertEqual(m.namedBuffers().map { $0.0 }, ["mask", "keep"])
        // PyTorch state_dict: own params, own persistent buffers, children.
        XCTAssertEqual(Array(m.stateDict().keys), ["w", "keep", "lin.weight", "lin.bias"])
        let w = try! XCTUnwrap(m.tensor(named: "w"))
        XCTAssertTrue(w.requiresGrad && w.isParameter, "registerParameter makes a leaf that requires grad")
        m.setTensor(named: "keep", Tensor.zeros([2]))
        XCTAssertEqual(m.tensor(named: "keep")?.toDoubles(), [0, 0])
        XCTAssertThrowsError(try withErrorCapture { m.setTensor(named: "nope", nil) }) { error in
            XCTAssertEqual("\(error)", "TypeError: 'Module' object has no attribute 'nope'")
        }
    }

    /// Declared properties and their registry share one box: assigning the property is seen by
    /// `parameters()`/`stateDict()` at once (no stale cache, the mlx-swift pitfall).
    func testAssignedPropertyIsNeverStale() {
        let lin = Linear(2, 2)
        let replacement = Tensor.zeros([2, 2])
        lin.weight = replacement
        XCTAssertTrue(lin.parameters()[0] === replacement)
        XCTAssertTrue(replacement.requiresGrad, "an assigned parameter becomes a leaf that requires grad")
        XCTAssertEqual(lin.stateDict()["weight"]?.toDoubles(), [0, 0, 0, 0])
        lin.bias = nil
        XCTAssertEqual(Array(lin.stateDict().keys), ["weight"])
        XCTAssertEqual(lin.description, "Linear(in_features=2, out_features=2, bias=False)")
    }

    /// train()/eval() reach every submodule; `training` defaults to true.
    func testTrainEvalPropagation() {
        let m = Outer()
        XCTAssertTrue(m.modules().allSatisfy { $0.isTraining })
        m.eval()
        XCTAssertTrue(m.modules().allSatisfy { !$0.isTraining })
        m.blocks.train()
        XCTAssertFalse(m.isTraining)
        XCTAssertTrue(m.blocks.modules().allSatisfy { $0.isTraining })
        m.train(false)
        XCTAssertTrue(m.modules().allSatisfy { !$0.training })
    }

    /// requires_grad_, zero_grad (set_to_none=True by default), num parameters.
    func testRequiresGradZeroGradAndCount() {
        let m = NeuralNetwork(numInputs: 50, numOutputs: 3)
        XCTAssertTrue(m.parameters().allSatisfy { $0.grad == nil }, "grads are nil before any backward")
        m(Tensor.rand(4, 50)).sum().backward()
        XCTAssertTrue(m.parameters().allSatisfy { $0.grad != nil })
        m.zeroGrad(setToNone: false)
        XCTAssertTrue(m.parameters().allSatisfy { $0.grad!.toDoubles().allSatisfy { $0 == 0 } })
        m.zeroGrad()
        XCTAssertTrue(m.parameters().allSatisfy { $0.grad == nil })
        (m.layers[0] as! Linear).requiresGrad_(false)
        XCTAssertEqual(m.numParameters(), 2213)
        XCTAssertEqual(m.numParameters(trainableOnly: true), 2213 - 30 * 50 - 30)
        m.requiresGrad_()
        XCTAssertEqual(m.numParameters(trainableOnly: true), 2213)
        // A parameter shared by two children is counted once (tied weights).
        let tied = Module()
        let a = Linear(3, 3, bias: false), b = Linear(3, 3, bias: false)
        b.weight = a.weight
        tied.registerModule("a", a)
        tied.registerModule("b", b)
        XCTAssertEqual(tied.numParameters(), 9)
        XCTAssertEqual(tied.parameters().count, 1)
        XCTAssertEqual(Array(tied.stateDict().keys), ["a.weight", "b.weight"], "state_dict keeps both names")
    }

    /// to(.float64)/half(): parameters keep identity, grads are converted, integer buffers stay,
    /// non-persistent buffers are converted, plain tensors are left behind.
    func testToDtypeSemantics() throws {
        let m = Block()
        let scale = m.scale, weight = m.proj.weight
        m.proj(Tensor.ones([1, 2])).sum().backward()
        m.to(.float64)
        XCTAssertTrue(m.scale === scale && m.proj.weight === weight, "parameter identity kept")
        XCTAssertEqual(m.proj.weight.dtype, .float64)
        XCTAssertEqual(m.proj.weight.grad?.dtype, .float64, "grad converted with its parameter")
        XCTAssertEqual(m.mask.dtype, .float64)
        XCTAssertEqual(m.positions.dtype, .int64, "integer buffer untouched")
        XCTAssertEqual(m.positions.toDoubles(), [0, 1, 2])
        XCTAssertEqual(m.plain.dtype, .float32, "unregistered tensor is not converted")
        XCTAssertTrue(m.proj.weight.requiresGrad && m.proj.weight.isLeaf)
        m.half()
        XCTAssertEqual(m.scale.dtype, .float16)
        XCTAssertEqual(m.mask.toDoubles(), [0, 1, 1, 0, 0, 1, 0, 0, 0])
        m.float()
        XCTAssertEqual(m.proj.weight.dtype, .float32)
        // PyTorch: TypeError for an integer target.
        XCTAssertThrowsError(try withErrorCapture { m.to(.int64) }) { error in
            XCTAssertEqual("\(error)", "TypeError: nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int64")
        }
        XCTAssertEqual(m.scale.dtype, .float32, "nothing changed by the refused cast")
    }

    /// to(.meta) moves everything (shapes and dtypes kept); toEmpty materialises on CPU.
    func testToMetaAndToEmpty() {
        let m = Block()
        let w = m.proj.weight
        m.to(.meta)
        XCTAssertTrue(m.proj.weight === w)
        XCTAssertTrue(m.parameters().allSatisfy { $0.isMeta })
        XCTAssertTrue(m.buffers().allSatisfy { $0.isMeta }, "non-persistent buffers move too")
        XCTAssertEqual(m.positions.dtype, .int64)
        XCTAssertEqual(m.proj.weight.shape, [2, 2])
        XCTAssertFalse(m.plain.isMeta, "unregistered tensor stays on cpu")
        m.toEmpty(device: .cpu)
        XCTAssertTrue(m.parameters().allSatisfy { $0.device == .cpu })
        XCTAssertTrue(m.buffers().allSatisfy { $0.device == .cpu })
        XCTAssertTrue(m.proj.weight === w && w.requiresGrad)
        XCTAssertEqual(m.positions.shape, [3])
        XCTAssertEqual(m.positions.dtype, .int64)
    }

    /// The seed notebook's pitfall: a plain tensor property is named `TypeName.property`.
    func testUnregisteredTensorNote() {
        XCTAssertEqual(Block().unregisteredTensorProperties(), ["Block.plain"])
        XCTAssertEqual(Outer().unregisteredTensorProperties(), ["Block.plain", "Block.plain"])
        XCTAssertEqual(CausalAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0).unregisteredTensorProperties(), [])
        XCTAssertEqual(CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0).unregisteredTensorProperties(),
                       ["CausalAttentionWithoutBuffers.mask"])
    }

    /// Descriptions as `print(model)` shows them.
    func testDescriptions() {
        XCTAssertEqual(CausalAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0).description, """
            CausalAttention(
              (W_query): Linear(in_features=3, out_features=2, bias=False)
              (W_key): Linear(in_features=3, out_features=2, bias=False)
              (W_value): Linear(in_features=3, out_features=2, bias=False)
              (dropout): Dropout(p=0.0, inplace=False)
            )
            """)
        XCTAssertEqual(NeuralNetwork(numInputs: 50, numOutputs: 3).description, """
            NeuralNetwork(
              (layers): Sequential(
                (0): Linear(in_features=50, out_features=30, bias=True)
                (1): ReLU()
                (2): Linear(in_features=30, out_features=20, bias=True)
                (3): ReLU()
                (4): Linear(in_features=20, out_features=3, bias=True)
              )
            )
            """)
        XCTAssertEqual(Embedding(6, 3).description, "Embedding(6, 3)")
        XCTAssertEqual(LayerNorm(768).description, "LayerNorm((768,), eps=1e-05, elementwise_affine=True)")
        XCTAssertEqual(GELU().description, "GELU(approximate='none')")
        XCTAssertEqual(Dropout(0.1).description, "Dropout(p=0.1, inplace=False)")
        XCTAssertEqual(Module().description, "Module()")
        XCTAssertEqual(ModuleList().description, "ModuleList()")
        XCTAssertEqual(Softmax(dim: -1).description, "Softmax(dim=-1)")
        // ModuleList compresses runs of identical items (PyTorch ≥ 2.0 `ModuleList.__repr__`);
        // Sequential does not.
        XCTAssertEqual(ModuleList([Linear(2, 2), Linear(2, 2), ReLU(), Linear(2, 2)]).description, """
            ModuleList(
              (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)
              (2): ReLU()
              (3): Linear(in_features=2, out_features=2, bias=True)
            )
            """)
        XCTAssertEqual(Outer().description, """
            Outer(
              (blocks): ModuleList(
                (0-1): 2 x Block(
                  (proj): Linear(in_features=2, out_features=2, bias=True)
                  (act): GELU(approximate='none')
                )
              )
              (head): Linear(in_features=2, out_features=1, bias=True)
            )
            """)
        XCTAssertEqual(Sequential(ReLU(), ReLU()).description, "Sequential(\n  (0): ReLU()\n  (1): ReLU()\n)")
    }
}
