import Foundation

/// Removes a hook registered by ``Tensor/registerPostAccumulateGradHook(_:)`` (PyTorch's
/// `RemovableHandle`).
public struct HookHandle: Sendable {
    let id: Int
    weak var tensor: Tensor?

    /// Unregisters the hook; removing twice does nothing.
    public func remove() {
        tensor?.postAccumulateGradHooks.removeAll { $0.id == id }
    }
}

nonisolated(unsafe) private var nextHookID = 0

extension Tensor {
    /// Registers `hook` to run after the backward pass has accumulated a gradient into this leaf's
    /// ``grad`` — once per `backward()` in which the leaf receives a gradient (the sum over every
    /// path), with the leaf as argument. This is what data-parallel training uses to start reducing a
    /// parameter's gradient while the rest of the backward pass still runs.
    ///
    /// Source: `torch.Tensor.register_post_accumulate_grad_hook`,
    /// https://pytorch.org/docs/stable/generated/torch.Tensor.register_post_accumulate_grad_hook.html
    ///
    /// Raises (PyTorch's wording) "post accumulate grad hooks cannot be registered on non-leaf
    /// tensors" for a non-leaf, and requires `requiresGrad`.
    @discardableResult
    public func registerPostAccumulateGradHook(_ hook: @escaping (Tensor) -> Void) -> HookHandle {
        guard gradFn == nil else {
            EmberError(.runtime, "post accumulate grad hooks cannot be registered on non-leaf tensors").raise()
            return HookHandle(id: -1, tensor: nil)
        }
        guard requiresGrad else {
            EmberError(.runtime, "cannot register a hook on a tensor that doesn't require gradient").raise()
            return HookHandle(id: -1, tensor: nil)
        }
        nextHookID += 1
        postAccumulateGradHooks.append((nextHookID, hook))
        return HookHandle(id: nextHookID, tensor: self)
    }
}

/// The callbacks of the backward pass now running on this thread.
final class BackwardCallbacks {
    private static let key = "ember.backwardCallbacks"
    var callbacks: [() -> Void] = []

    static var stack: [BackwardCallbacks] {
        get { (Thread.current.threadDictionary[key] as? [BackwardCallbacks]) ?? [] }
        set { Thread.current.threadDictionary[key] = newValue }
    }

    /// Runs the callbacks in order; one queued by a callback runs too.
    func runAll() {
        var i = 0
        while i < callbacks.count {
            callbacks[i]()
            i += 1
        }
        callbacks = []
    }
}

extension Autograd {
    /// Queues `callback` to run once when the backward pass now running ends (after every gradient
    /// has been accumulated); for use inside hooks. Data-parallel training uses it to wait for its
    /// gradient reductions at the end of `backward()`.
    ///
    /// Source: PyTorch's `Variable._execution_engine.queue_callback` (torch/csrc/autograd/engine.cpp).
    /// Raises "Final callbacks can only be installed during backward pass." outside a backward pass.
    public static func queueCallback(_ callback: @escaping () -> Void) {
        guard let current = BackwardCallbacks.stack.last else {
            EmberError(.runtime, "Final callbacks can only be installed during backward pass.").raise()
            return
        }
        current.callbacks.append(callback)
    }

    /// Whether a backward pass is running on this thread (in a hook or a backward function).
    public static var isInBackward: Bool { !BackwardCallbacks.stack.isEmpty }
}
