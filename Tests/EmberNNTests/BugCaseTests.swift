import EmberCore
import EmberNN
import EmberTestSupport
import Foundation
import OrderedCollections
import XCTest

// Public bug reports (B cases, docs/cases.md), module and tensor parts. Each test names its case.

/// B01's module: a non-persistent mask, a persistent buffer and a plain tensor, all by name.
final class B01Module: Module {
    var plain = Tensor.ones([3])             // not registered
    override init() {
        super.init()
        registerBuffer("mask", Tensor.ones([4, 4]).triu(diagonal: 1), persistent: false)
        registerBuffer("keep", Tensor.ones([2]))
    }
}

/// The book's FeedForward (chapter 4) with a Sequential named `layers`.
final class FeedForward: Module {
    @Child var layers: Sequential
    init(embDim: Int) { layers = Sequential(Linear(embDim, 4 * embDim), GELU(approximate: "tanh"), Linear(4 * embDim, embDim)) }
    func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
}

/// A small stand-in for the book's GPTModel: its key layout (own params, block buffers, children).
final class TinyBlock: Module {
    @Child var att: CausalAttention
    @Child var ff: FeedForward
    override init() {
        att = CausalAttention(dIn: 4, dOut: 4, contextLength: 5, dropout: 0.1)
        ff = FeedForward(embDim: 4)
    }
}

final class TinyGPT: Module {
    @Child var tok_emb: Embedding
    @Child var pos_emb: Embedding
    @Child var drop_emb: Dropout
    @Child var trf_blocks: Sequential
    @Child var out_head: Linear
    init(layers: Int = 2, dropRate: Double = 0.1) {
        tok_emb = Embedding(10, 4)
        pos_emb = Embedding(5, 4)
        drop_emb = Dropout(dropRate)
        trf_blocks = Sequential((0..<layers).map { _ in TinyBlock() })
        out_head = Linear(4, 10, bias: false)
    }
    func callAsFunction(_ ids: Tensor) -> Tensor {
        var h = drop_emb(tok_emb(ids) + pos_emb(Tensor.arange(ids.shape[1])))
        for case let block as TinyBlock in trf_blocks.children() { h = h + block.ff(block.att(h)) }
        return out_head(h)
    }
}

/// A module whose mask is non-persistent (B06: the model variant loading an older checkpoint).
final class NonPersistentMaskAttention: Module {
    @Child var W_query: Linear
    @Buffer(persistent: false) var mask: Tensor
    override init() {
        W_query = Linear(2, 2, bias: false)
        super.init()
        mask = Tensor.ones([3, 3]).triu(diagonal: 1)
    }
}
final class PersistentMaskAttention: Module {
    @Child var W_query: Linear
    @Buffer var mask: Tensor
    override init() {
        W_query = Linear(2, 2, bias: false)
        mask = Tensor.full([3, 3], 7)
    }
}

final class BugCaseTests: XCTestCase {
    override func setUp() { Module.warnsAboutUnregisteredTensors = false }

    /// B01: non-persistent buffers are listed and moved but not saved; plain tensors are neither.
    func testB01NonPersistentVersusPlain() throws {
        let m = B01Module()
        let alias = [m.tensor(named: "mask")!]
        m.to(.float64)
        XCTAssertEqual(m.namedBuffers().map { $0.0 }, ["mask", "keep"])
        XCTAssertEqual(Array(m.stateDict().keys), ["keep"])
        XCTAssertEqual(m.tensor(named: "mask")?.dtype, .float64)
        XCTAssertEqual(m.tensor(named: "keep")?.dtype, .float64)
        XCTAssertEqual(m.buffers().map { $0.dtype }, [.float64, .float64], "buffers() sees the converted tensors")
        XCTAssertEqual(m.plain.dtype, .float32, "plain attribute neither converted nor saved")
        XCTAssertEqual(alias[0].dtype, .float32, "only the user's stale alias holds the old tensor")
        var sd = OrderedDictionary<String, Tensor>()
        sd["keep"] = Tensor([5.0, 6.0])
        XCTAssertEqual(try m.loadStateDict(sd, strict: true), IncompatibleKeys(missingKeys: [], unexpectedKeys: []))
        XCTAssertEqual(m.tensor(named: "keep")?.toDoubles(), [5, 6])
        XCTAssertEqual(m.unregisteredTensorProperties(), ["B01Module.plain"])
        m.to(.meta)
        XCTAssertTrue(m.buffers().allSatisfy { $0.isMeta }, "on the target device when a device is given")
        XCTAssertFalse(m.plain.isMeta)
    }

    /// B02: integer and bool buffers survive half()/to(float64); to(int64) is PyTorch's TypeError.
    func testB02IntegerBuffersSurviveCasts() throws {
        let m = Module()
        m.registerBuffer("idx", Tensor.arange(5))
        m.registerBuffer("flag", Tensor([true, false]))
        m.registerBuffer("mask", Tensor.ones([3, 3]).triu(diagonal: 1))
        m.registerParameter("w", Tensor.ones([2]))
        m.half()
        XCTAssertEqual(m.tensor(named: "idx")?.dtype, .int64)
        XCTAssertEqual(m.tensor(named: "idx")?.toDoubles(), [0, 1, 2, 3, 4])
        XCTAssertEqual(m.tensor(named: "flag")?.dtype, .bool)
        XCTAssertEqual(m.tensor(named: "flag")?.toBools(), [true, false])
        XCTAssertEqual(m.tensor(named: "mask")?.dtype, .float16)
        XCTAssertEqual(m.tensor(named: "mask")?.toDoubles(), [0, 1, 1, 0, 0, 1, 0, 0, 0])
        XCTAssertEqual(m.tensor(named: "w")?.dtype, .float16)
        m.to(.float64)
        XCTAssertEqual(m.stateDict().map { $0.value.dtype }, [.float64, .int64, .bool, .float64])
        XCTAssertEqual(Array(m.stateDict().keys), ["w", "idx", "flag", "mask"])
        XCTAssertThrowsError(try withErrorCapture { m.to(.int64) }) {
            XCTAssertEqual("\($0)", "TypeError: nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int64")
        }
        XCTAssertEqual(m.tensor(named: "w")?.dtype, .float64)
    }

    /// B04: loading converts into the destination (dtype, device, identity kept). EmberNN/Optim has
    /// no AdamW yet, so the optimizer part checks what it relies on: the same parameter objects.
    func testB04LoadKeepsDestinationDtypeAndIdentity() throws {
        let lin = Linear(2, 2)
        let params = lin.parameters()
        var sd16 = OrderedDictionary<String, Tensor>()
        sd16["weight"] = Tensor([[1, 2], [3, 4]], dtype: .float16)
        sd16["bias"] = Tensor([0, 0], dtype: .float16)
        try lin.loadStateDict(sd16)
        XCTAssertEqual(lin.weight.dtype, .float32)
        XCTAssertEqual(lin.weight.toDoubles(), [1, 2, 3, 4])
        XCTAssertTrue(zip(params, lin.parameters()).allSatisfy { $0 === $1 }, "parameter objects kept")
        lin.half()
        var sd32 = OrderedDictionary<String, Tensor>()
        sd32["weight"] = Tensor([[1.5, 2.5], [3.5, 4.5]])
        sd32["bias"] = Tensor([0.25, 1.0])
        try lin.loadStateDict(sd32)
        XCTAssertEqual(lin.weight.dtype, .float16)
        XCTAssertEqual(lin.bias?.dtype, .float16)
        XCTAssertEqual(lin.weight.toDoubles(), [1.5, 2.5, 3.5, 4.5])
        XCTAssertTrue(zip(params, lin.parameters()).allSatisfy { $0 === $1 })
        // An update through the pre-load references reaches the loaded module (what an optimizer does).
        noGrad { params[0].add_(Tensor.ones([2, 2], dtype: .float16)) }
        XCTAssertEqual(lin.weight.toDoubles(), [2.5, 3.5, 4.5, 5.5])
        // A shape mismatch is an error, never a silent reshape.
        var bad = OrderedDictionary<String, Tensor>()
        bad["weight"] = Tensor.ones([4])
        bad["bias"] = Tensor.ones([2])
        XCTAssertThrowsError(try lin.loadStateDict(bad))
        XCTAssertEqual(lin.bias?.toDoubles(), [0.25, 1], "nothing written")
    }

    /// B05: an `_orig_mod.` prefix makes every key missing and every key unexpected, in one error.
    func testB05PrefixMismatchReport() throws {
        manualSeed(1)
        let model = TinyGPT()
        var sd = OrderedDictionary<String, Tensor>()
        for (k, v) in model.stateDict() { sd["_orig_mod." + k] = v }
        let target = TinyGPT()
        let before = target.stateDict().mapValues { $0.clone() }
        let keys = Array(model.stateDict().keys)
        XCTAssertThrowsError(try target.loadStateDict(sd)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("Error(s) in loading state_dict for TinyGPT:\n\tMissing key(s) in state_dict: \"tok_emb.weight\", \"pos_emb.weight\", \"trf_blocks.0.att.mask\", "), text)
            XCTAssertTrue(text.contains("\n\tUnexpected key(s) in state_dict: \"_orig_mod.tok_emb.weight\", \"_orig_mod.pos_emb.weight\", "), text)
            XCTAssertEqual((error as? LoadStateDictError)?.missingKeys, keys)
            XCTAssertEqual((error as? LoadStateDictError)?.unexpectedKeys, keys.map { "_orig_mod." + $0 })
        }
        for (k, v) in target.stateDict() { XCTAssertTrue(v.equal(before[k]!), "\(k) unchanged") }
        let r = try target.loadStateDict(sd, strict: false)
        XCTAssertEqual(r.missingKeys.count, keys.count)
        XCTAssertEqual(r.unexpectedKeys.count, keys.count)
        try target.loadStateDict(consumePrefixInStateDict(sd, prefix: "_orig_mod."))
        for (k, v) in target.stateDict() { XCTAssertTrue(v.equal(model.stateDict()[k]!), "\(k) loaded after strip") }
    }

    /// B06: a checkpoint with a buffer the model declares non-persistent: unexpected (strict), ignored
    /// (non-strict), and the model's own mask keeps its value.
    func testB06CheckpointWithNowNonPersistentBuffer() throws {
        let old = PersistentMaskAttention()
        let sd = old.stateDict()
        XCTAssertEqual(Array(sd.keys), ["mask", "W_query.weight"])
        let new = NonPersistentMaskAttention()
        XCTAssertThrowsError(try new.loadStateDict(sd)) {
            XCTAssertEqual("\($0)", "Error(s) in loading state_dict for NonPersistentMaskAttention:\n\tUnexpected key(s) in state_dict: \"mask\". ")
        }
        let r = try new.loadStateDict(sd, strict: false)
        XCTAssertEqual(r.missingKeys, [])
        XCTAssertEqual(r.unexpectedKeys, ["mask"])
        XCTAssertEqual(new.mask.toDoubles(), [0, 1, 1, 0, 0, 1, 0, 0, 0], "the checkpoint's copy is ignored")
        XCTAssertTrue(new.W_query.weight.equal(old.W_query.weight))
        // GPT-shaped: one unexpected mask per block, nothing missing.
        let gptSD = TinyGPT().stateDict()
        let npVariant = NonPersistentGPTVariant()
        XCTAssertThrowsError(try npVariant.loadStateDict(gptSD)) {
            XCTAssertEqual(($0 as? LoadStateDictError)?.unexpectedKeys, ["trf_blocks.0.att.mask", "trf_blocks.1.att.mask"])
            XCTAssertEqual(($0 as? LoadStateDictError)?.missingKeys, [])
        }
    }

    /// B16: Sequential children are `0`, `1`, …; parameter-free children keep their index.
    func testB16SequentialNaming() {
        let seq = Sequential(Linear(5, 5), Linear(5, 5), Linear(5, 5))
        XCTAssertEqual(Array(seq.stateDict().keys), ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"])
        XCTAssertEqual(Array(FeedForward(embDim: 8).stateDict().keys),
                       ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        let keys = Array(TinyGPT().stateDict().keys)
        XCTAssertEqual(Array(keys.prefix(9)), [
            "tok_emb.weight", "pos_emb.weight", "trf_blocks.0.att.mask", "trf_blocks.0.att.W_query.weight",
            "trf_blocks.0.att.W_key.weight", "trf_blocks.0.att.W_value.weight", "trf_blocks.0.ff.layers.0.weight",
            "trf_blocks.0.ff.layers.0.bias", "trf_blocks.0.ff.layers.2.weight",
        ])
        XCTAssertEqual(keys.last, "out_head.weight")
        XCTAssertEqual(keys.count, 2 + 2 * 8 + 1)
    }

    /// B18: softmax of masked rows: a partly masked row is exact, a fully masked row is NaN (PyTorch
    /// parity), large logits do not overflow; the book's causal mask never masks a full row.
    func testB18SoftmaxMaskedRows() {
        let inf = Double.infinity
        let s = softmax(Tensor([[0, -inf, -inf], [-inf, -inf, -inf]]), dim: -1).toDoubles()
        XCTAssertEqual(Array(s[0..<3]), [1, 0, 0])
        XCTAssertTrue(s[3...].allSatisfy { $0.isNaN })
        XCTAssertEqual(softmax(Tensor([1000.0, 0.0]), dim: 0).toDoubles(), [1, 0])
        XCTAssertEqual(Tensor([1000.0, 0.0]).logSoftmax(0).toDoubles(), [0, -1000])
        // Causal attention weights: rows sum to 1, zeros above the diagonal, for several lengths;
        // gradients are finite.
        manualSeed(3)
        let ca = CausalAttention(dIn: 3, dOut: 2, contextLength: 6, dropout: 0)
        for t in 1...6 {
            let x = Tensor.rand([1, t, 3])
            let scores = ca.W_query(x).matmul(ca.W_key(x).transpose(1, 2))
            scores.maskedFill_(ca.mask.bool()[..<t, ..<t], -inf)
            let w = softmax(scores / 2.0.squareRoot(), dim: -1)
            let rows = w.sum(-1).toDoubles()
            XCTAssertTrue(rows.allSatisfy { Swift.abs($0 - 1) < 1e-6 }, "T=\(t) rows sum to 1")
            let v = w.toDoubles()
            for i in 0..<t { for j in (i + 1)..<max(t, i + 1) { XCTAssertEqual(v[i * t + j], 0, "T=\(t) [\(i),\(j)]") } }
            ca(x).sum().backward()
            XCTAssertTrue(ca.parameters().allSatisfy { $0.grad!.toDoubles().allSatisfy { $0.isFinite } })
            ca.zeroGrad()
        }
        // The gradient of a partly masked softmax is finite and zero at the masked entries.
        let z = Tensor([[0.5, 1.0, 2.0]], requiresGrad: true)
        let p = softmax(z.maskedFill(Tensor([[false, false, true]]), -inf), dim: -1)
        (p * Tensor([[1.0, 2.0, 3.0]])).sum().backward()
        XCTAssertTrue(z.grad!.toDoubles().allSatisfy { $0.isFinite })
        XCTAssertEqual(z.grad!.toDoubles()[2], 0)
    }

    /// B24: every dropout obeys `training`; eval()/train() reach all submodules; eval output equals
    /// the drop-rate-0 output bit for bit.
    func testB24DropoutFollowsEval() {
        manualSeed(123)
        let model = TinyGPT(dropRate: 0.1)
        let plain = TinyGPT(dropRate: 0)
        XCTAssertNoThrow(try plain.loadStateDict(model.stateDict()))
        model.eval()
        plain.eval()
        let ids = Tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
        let a = noGrad { model(ids) }, b = noGrad { model(ids) }
        XCTAssertTrue(a.equal(b), "eval forwards are bit-identical")
        XCTAssertTrue(a.equal(noGrad { plain(ids) }), "eval output equals drop_rate 0")
        XCTAssertTrue(model.modules().allSatisfy { !$0.isTraining })
        model.train()
        XCTAssertTrue(model.modules().allSatisfy { $0.isTraining })
        let c = noGrad { model(ids) }
        XCTAssertFalse(c.equal(a), "train mode drops")
        manualSeed(123)
        let mask = Dropout(0.5)(Tensor.ones([6, 6])).toDoubles()
        XCTAssertTrue(mask.allSatisfy { $0 == 0 || $0 == 2 })
    }
}

/// B06's GPT-shaped variant: same layout as TinyGPT, but each block's mask is non-persistent.
final class NonPersistentGPTVariant: Module {
    final class Att: Module {
        @Child var W_query: Linear
        @Child var W_key: Linear
        @Child var W_value: Linear
        @Buffer(persistent: false) var mask: Tensor
        override init() {
            W_query = Linear(4, 4, bias: false)
            W_key = Linear(4, 4, bias: false)
            W_value = Linear(4, 4, bias: false)
            super.init()
            mask = Tensor.ones([5, 5]).triu(diagonal: 1)
        }
    }
    final class Block: Module {
        @Child var att = Att()
        @Child var ff = FeedForward(embDim: 4)
    }
    @Child var tok_emb = Embedding(10, 4)
    @Child var pos_emb = Embedding(5, 4)
    @Child var drop_emb = Dropout(0.1)
    @Child var trf_blocks = Sequential(Block(), Block())
    @Child var out_head = Linear(4, 10, bias: false)
}
