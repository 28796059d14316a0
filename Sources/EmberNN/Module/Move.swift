import EmberCore
import Foundation

/// Moving and casting modules: `to(device)`, `to(dtype)`, `half()`/`float()`/`double()`,
/// `to_empty(device=)`, with PyTorch's `Module._apply` semantics.
extension Module {
    /// Applies `fn` to every parameter (in place: identity kept, `.grad` converted too) and every
    /// buffer (replaced), in self and all submodules.
    func applyToTensors(_ fn: (Tensor) -> Tensor) {
        noGrad {
            for m in modules() {
                for (_, slot) in m.ownTensorSlots() {
                    guard let t = slot.value else { continue }
                    switch slot.kind {
                    case .parameter:
                        let moved = fn(t)
                        if moved !== t { t.setData(moved) }
                        if let g = t.grad {
                            let mg = fn(g)
                            if mg !== g { g.setData(mg) }
                        }
                    case .buffer:
                        slot.value = fn(t)
                    }
                }
            }
        }
    }

    /// `to(device)`: moves every parameter, gradient and buffer (persistent or not) to `device`.
    /// Parameters keep their identity, so an optimizer built earlier keeps working.
    /// Warns once about tensor properties that are not registered (they stay where they are).
    @discardableResult
    public func to(_ device: Device) -> Self {
        warnAboutUnregisteredTensors(action: "moved to \(device)")
        applyToTensors { $0.to(device) }
        return self
    }

    /// `to(dtype)`: casts floating-point parameters and buffers; integer and bool tensors keep
    /// their dtype. Integer target dtypes raise PyTorch's TypeError.
    @discardableResult
    public func to(_ dtype: DType) -> Self {
        guard dtype.isFloatingPoint else {
            EmberError(.type, "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=\(dtype.torchName)").raise()
            return self
        }
        applyToTensors { $0.isFloatingPoint ? $0.to(dtype) : $0 }
        return self
    }

    @discardableResult public func half() -> Self { to(.float16) }
    @discardableResult public func bfloat16() -> Self { to(.bfloat16) }
    @discardableResult public func float() -> Self { to(.float32) }
    @discardableResult public func double() -> Self { to(.float64) }

    /// `to_empty(device=)`: replaces every parameter and buffer by an uninitialised tensor of the
    /// same shape and dtype on `device` (for modules built on `meta`).
    @discardableResult
    public func toEmpty(device: Device) -> Self {
        applyToTensors { Tensor.empty($0.shape, dtype: $0.dtype, device: device) }
        return self
    }
}

// MARK: - Unregistered tensor properties (the seed notebook's pitfall)

extension Module {
    /// Whether Ember prints its one-time note about tensors stored in plain properties
    /// (neither moved by `to(_:)` nor saved by `stateDict()`). Set to false to silence it.
    nonisolated(unsafe) public static var warnsAboutUnregisteredTensors = true
    nonisolated(unsafe) static var warned = Set<String>()
    static let warnLock = NSLock()

    /// Plain (unregistered) tensor properties of this module and its submodules, as
    /// `TypeName.property` (e.g. `CausalAttentionWithoutBuffers.mask`).
    public func unregisteredTensorProperties() -> [String] {
        var out: [String] = []
        for m in modules() {
            m.forEachMirrorChild { label, value in
                if isPlainTensor(value) {
                    out.append("\(m.typeName).\(label)")
                }
            }
        }
        return out
    }

    /// Prints the note once per property, to standard error.
    func warnAboutUnregisteredTensors(action: String) {
        guard Module.warnsAboutUnregisteredTensors else { return }
        for name in unregisteredTensorProperties() {
            Module.warnLock.lock()
            let first = Module.warned.insert(name).inserted
            Module.warnLock.unlock()
            guard first else { continue }
            let prop = name.split(separator: ".").last.map(String.init) ?? name
            let message = "Ember: \(name) is a plain Tensor property, so it is neither moved by to(_:) nor saved by stateDict() (it was not \(action)). Declare it `@Buffer var \(prop): Tensor` (or call registerBuffer(\"\(prop)\", ...)) to make it part of the module's state. Silence this note with Module.warnsAboutUnregisteredTensors = false.\n"
            FileHandle.standardError.write(message.data(using: .utf8)!)
        }
    }
}

/// Whether a reflected property value is a `Tensor` or a non-nil `Tensor?`.
func isPlainTensor(_ value: Any) -> Bool {
    if value is Tensor { return true }
    if let o = value as? Tensor?, o != nil { return true }
    return false
}
