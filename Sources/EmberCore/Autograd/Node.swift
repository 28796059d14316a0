/// A node of the autograd graph: the backward function of one operation (PyTorch's `grad_fn`).
///
/// `next` holds one edge per input of the operation (nil where that input needs no gradient);
/// `apply` maps the gradient of the output to the gradients of the inputs.
public class Node: CustomStringConvertible {
    /// PyTorch's class name of the node, e.g. `MmBackward0`, shown in printed tensors.
    public let name: String
    var next: [Node?]
    var backwardFn: ((Tensor) -> [Tensor?])?
    /// Tensors saved for backward, with the storage versions they had when saved; `isOutput` marks
    /// the op's own result (saved as a detached alias, so the graph holds no cycle).
    var saved: [(tensor: Tensor, version: Int, isOutput: Bool)] = []
    /// The non-leaf output that asked to keep its gradient (`retain_grad()`).
    weak var retainedOutput: Tensor?

    init(name: String, next: [Node?], backward: ((Tensor) -> [Tensor?])?) {
        self.name = name
        self.next = next
        self.backwardFn = backward
    }

    public var description: String { "<\(name)>" }

    /// Checks that no saved tensor was modified in place since it was saved. The message is
    /// PyTorch's (torch/csrc/autograd/saved_variable.cpp): the producing node is this node for a
    /// saved result, the tensor's current `grad_fn` for a saved input, and absent for a leaf.
    func checkSavedVersions() -> EmberError? {
        for s in saved where s.tensor.storage.version != s.version {
            let t = s.tensor
            let producer = s.isOutput ? name : t.gradFn?.name
            let which = producer.map { ", which is output 0 of \($0)," } ?? ""
            return EmberError(.runtime, "one of the variables needed for gradient computation has been modified by an inplace operation: [torch.\(t.dtype.scalarTypeName)Tensor [\(t.shape.map(String.init).joined(separator: ", "))]]\(which) is at version \(t.storage.version); expected version \(s.version) instead. Hint: enable anomaly detection to find the operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True).")
        }
        return nil
    }

    func apply(_ grad: Tensor) -> [Tensor?] {
        backwardFn?(grad) ?? []
    }
}

/// The node at a leaf that requires grad: adds incoming gradients into the leaf's `.grad`.
final class AccumulateGrad: Node {
    let variable: Tensor
    init(variable: Tensor) {
        self.variable = variable
        super.init(name: "AccumulateGrad", next: [], backward: nil)
    }
}

extension Tensor {
    /// The graph edge gradients for this tensor flow into: its `gradFn`, or its accumulator when it
    /// is a leaf requiring grad, or nil.
    var gradEdge: Node? {
        if let g = gradFn { return g }
        guard requiresGradLeaf else { return nil }
        if let a = gradAccumulatorStorage { return a }
        let a = AccumulateGrad(variable: self)
        gradAccumulatorStorage = a
        return a
    }

    /// Whether an op on `inputs` must record a backward node now (grad mode on and some input
    /// requires grad). For custom differentiable functions built outside EmberCore.
    public static func needsGrad(_ inputs: [Tensor]) -> Bool {
        guard GradMode.isEnabled else { return false }
        for t in inputs where t.requiresGrad { return true }
        return false
    }

    /// Attaches a backward node to `self` (an op's fresh output) when `inputs` need it, as a
    /// `torch.autograd.Function` would: `backward` maps the output's gradient to one gradient per
    /// input (nil where none is needed). `saving` lists tensors whose in-place modification must
    /// invalidate the backward (PyTorch's saved-tensor version check). `name` is what `grad_fn`
    /// prints (e.g. `AddmmBackward0`). `savingOutput` marks the result itself as saved (ops whose
    /// backward reads their output, as `exp`, `sigmoid`, `softmax`): modifying it in place then
    /// makes backward fail instead of silently using the modified values. Such a backward should
    /// capture `self.detach()`, not `self`, so the graph holds no reference cycle.
    @discardableResult
    public func recordGrad(_ name: String, _ inputs: [Tensor], saving: [Tensor] = [], savingOutput: Bool = false,
                    _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard Tensor.needsGrad(inputs) else { return self }
        let node = Node(name: name, next: inputs.map { $0.gradEdge }, backward: backward)
        node.saved = saving.map { ($0, $0.storage.version, false) }
        if savingOutput { node.saved.append((detach(), storage.version, true)) }
        gradFn = node
        return self
    }
}
