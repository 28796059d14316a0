/// The backward pass: `Tensor.backward()` and `autograd.grad(...)`, as PyTorch's engine runs them:
/// nodes in reverse topological order, gradients summed where paths join, leaves accumulating into
/// `.grad`. Source: https://pytorch.org/docs/stable/autograd.html

extension Tensor {
    /// Computes the gradient of this tensor with respect to graph leaves (`tensor.backward()`).
    ///
    /// - Parameters:
    ///   - gradient: d(output)/d(self); may be omitted only for a one-element tensor (then 1).
    ///   - retainGraph: keep the graph for a second backward.
    /// Errors (PyTorch's wording): "grad can be implicitly created only for scalar outputs",
    /// "element 0 of tensors does not require grad and does not have a grad_fn", a saved tensor
    /// modified in place, a second backward through a freed graph.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) {
        guard requiresGrad else {
            _ = raiseError("element 0 of tensors does not require grad and does not have a grad_fn")
            return
        }
        let g: Tensor
        if let gradient {
            guard gradient.shape == shape else {
                _ = raiseError("Mismatch in shape: grad_output[0] has a shape of \(formatShape(gradient.shape)) and output[0] has a shape of \(formatShape(shape)).")
                return
            }
            g = gradient
        } else {
            guard numel == 1 else {
                _ = raiseError("grad can be implicitly created only for scalar outputs")
                return
            }
            g = Tensor.onesLike(self)
        }
        _ = Autograd.run(roots: [(self, g)], inputs: nil, retainGraph: retainGraph, createGraph: createGraph)
    }

    /// Keeps `.grad` on a non-leaf tensor after backward (`retain_grad()`).
    public func retainGrad() {
        if let g = gradFn { retainsGrad = true; g.retainedOutput = self }
    }

    /// A tensor sharing storage with this one, cut from the graph (`detach()`).
    public func detach() -> Tensor {
        let t = Tensor(storage: storage, shape: shape, strides: strides, storageOffset: storageOffset, dtype: dtype)
        return t
    }

    /// Cuts this tensor from the graph in place (`detach_()`).
    @discardableResult
    public func detach_() -> Tensor {
        gradFn = nil
        requiresGradLeaf = false
        return self
    }
}

func formatShape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

/// `torch.autograd` functions.
public enum Autograd {
    /// `torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)`:
    /// the gradients of `outputs` with respect to `inputs`, without touching `.grad`.
    public static func grad(outputs: [Tensor], inputs: [Tensor], gradOutputs: [Tensor]? = nil,
                            retainGraph: Bool? = nil, createGraph: Bool = false, allowUnused: Bool = false) -> [Tensor?] {
        var roots: [(Tensor, Tensor)] = []
        for (i, o) in outputs.enumerated() {
            guard o.requiresGrad else {
                _ = raiseError("element \(i) of tensors does not require grad and does not have a grad_fn")
                return inputs.map { _ in nil }
            }
            if let go = gradOutputs?[i] { roots.append((o, go)) } else {
                guard o.numel == 1 else {
                    _ = raiseError("grad can be implicitly created only for scalar outputs")
                    return inputs.map { _ in nil }
                }
                roots.append((o, Tensor.onesLike(o)))
            }
        }
        let result = run(roots: roots, inputs: inputs, retainGraph: retainGraph ?? createGraph, createGraph: createGraph)
        if !allowUnused, result.contains(where: { $0 == nil }) {
            _ = raiseError("One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.")
        }
        return result
    }

    /// Runs the engine. With `inputs` nil, accumulates into leaves' `.grad`; otherwise returns the
    /// gradients reaching `inputs` and accumulates nothing.
    static func run(roots: [(Tensor, Tensor)], inputs: [Tensor]?, retainGraph: Bool, createGraph: Bool) -> [Tensor?] {
        // Nodes whose gradient is captured for autograd.grad.
        var captureIndex: [ObjectIdentifier: [Int]] = [:]
        if let inputs {
            for (i, t) in inputs.enumerated() {
                if let e = t.gradEdge { captureIndex[ObjectIdentifier(e), default: []].append(i) }
            }
        }
        var captured = [Tensor?](repeating: nil, count: inputs?.count ?? 0)
        // Callbacks queued during this pass (`queueCallback`) run when it ends, after every gradient.
        let callbacks = BackwardCallbacks()
        BackwardCallbacks.stack.append(callbacks)
        defer {
            BackwardCallbacks.stack.removeLast()
            callbacks.runAll()
        }

        // Topological order (DFS post-order from the roots) and dependency counts.
        var order: [Node] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Node, Int)] = []
        for (t, _) in roots {
            guard let n = t.gradEdge, !visited.contains(ObjectIdentifier(n)) else { continue }
            visited.insert(ObjectIdentifier(n))
            stack.append((n, 0))
            while let (node, i) = stack.popLast() {
                if i < node.next.count {
                    stack.append((node, i + 1))
                    if let c = node.next[i], !visited.contains(ObjectIdentifier(c)) {
                        visited.insert(ObjectIdentifier(c))
                        stack.append((c, 0))
                    }
                } else {
                    order.append(node)
                }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [:]
        func add(_ node: Node, _ g: Tensor) {
            let id = ObjectIdentifier(node)
            if let existing = grads[id] { grads[id] = existing + g } else { grads[id] = g }
        }
        let previous = GradMode.isEnabled
        GradMode.set(createGraph)
        defer { GradMode.set(previous) }
        for (t, g) in roots { if let n = t.gradEdge { add(n, g) } }

        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard let g = grads.removeValue(forKey: id) else { continue }
            if let idx = captureIndex[id] {
                for i in idx { captured[i] = g }
                if node is AccumulateGrad { continue }
            }
            if let acc = node as? AccumulateGrad {
                guard inputs == nil else { continue }
                let v = acc.variable
                if let existing = v.grad {
                    if createGraph { v.grad = existing + g } else { existing.add_(g.detach()) }
                } else {
                    v.grad = createGraph ? g : (g.isContiguous ? g.detach() : g.contiguous().detach())
                }
                for (_, hook) in v.postAccumulateGradHooks { hook(v) }
                continue
            }
            if let out = node.retainedOutput, inputs == nil {
                out.grad = out.grad.map { $0 + g } ?? g.detach()
            }
            if let e = node.checkSavedVersions() { ErrorCapture.raise(e); return captured }
            guard node.backwardFn != nil else {
                _ = raiseError("Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed). Saved intermediate values of the graph are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or if you need to access saved tensors after calling backward.")
                return captured
            }
            let inGrads = node.apply(g)
            if !retainGraph { node.backwardFn = nil; node.saved = [] }
            for (i, next) in node.next.enumerated() {
                guard let next, i < inGrads.count, let ig = inGrads[i] else { continue }
                add(next, ig)
            }
        }
        // Non-leaf tensors with retain_grad(): PyTorch stores the gradient flowing into their node.
        return captured
    }
}
