/// Conversions: dtype and device moves, copies, reading values back into Swift.

extension Tensor {
    /// `to(dtype)`: self when the dtype already matches, else a converted copy (gradient flows back).
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let out = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
        copyElements(from: self, to: out)
        if dtype.isFloatingPoint && Tensor.needsGrad([self]) {
            let src = self.dtype
            out.recordGrad("ToCopyBackward0", [self]) { g in [g.to(src)] }
        }
        return out
    }

    /// `to(device)`: self when already there, else a copy on `device` (gradient flows back).
    /// Moving to `meta` keeps shape and dtype only; moving from `meta` raises PyTorch's error.
    public func to(_ device: Device) -> Tensor {
        if device == self.device { return self }
        if isMeta {
            return raiseError(.notImplemented, "Cannot copy out of meta tensor; no data! Please use torch.nn.Module.to_empty() instead of torch.nn.Module.to() when moving module from meta to a different device.", shape: shape, dtype: dtype)
        }
        if let reason = device.unavailableReason {
            return raiseError("\(device) is not available: \(reason)", shape: shape, dtype: dtype)
        }
        let out = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
        copyElements(from: self, to: out)
        if Tensor.needsGrad([self]) {
            let src = self.device
            out.recordGrad("ToCopyBackward0", [self]) { g in [g.to(src)] }
        }
        return out
    }

    /// `to(device, dtype)`.
    public func to(_ device: Device, _ dtype: DType) -> Tensor { to(device).to(dtype) }

    public func float() -> Tensor { to(.float32) }
    public func double() -> Tensor { to(.float64) }
    public func half() -> Tensor { to(.float16) }
    public func bfloat16() -> Tensor { to(.bfloat16) }
    public func long() -> Tensor { to(.int64) }
    public func int() -> Tensor { to(.int32) }
    public func bool() -> Tensor { to(.bool) }
    public func cpu() -> Tensor { to(.cpu) }

    /// `clone()`: a contiguous copy with its own storage (gradient flows back).
    public func clone() -> Tensor {
        let out = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
        copyElements(from: self, to: out)
        if Tensor.needsGrad([self]) { out.recordGrad("CloneBackward0", [self]) { g in [g] } }
        return out
    }

    /// Raises the error for reading values of a meta tensor; returns true when values can be read.
    func checkReadable(_ what: String = "item") -> Bool {
        if isMeta {
            ErrorCapture.raise(EmberError(.notImplemented, "Cannot copy out of meta tensor; no data!"))
            return false
        }
        return true
    }

    /// `item()` on a meta tensor raises PyTorch's own message, not the generic copy-out one.
    func checkItemReadable() -> Bool {
        if isMeta {
            ErrorCapture.raise(EmberError(.runtime, "Tensor.item() cannot be called on meta tensors"))
            return false
        }
        return true
    }

    /// `item()`: the value of a one-element tensor as a Double (exact for every dtype but int64
    /// beyond 2^53; use ``intItem()`` for those).
    public func item() -> Double {
        guard numel == 1 else {
            ErrorCapture.raise(EmberError(.runtime, "a Tensor with \(numel) elements cannot be converted to Scalar"))
            return 0
        }
        guard checkItemReadable() else { return 0 }
        return toDoubles()[0]
    }

    /// `item()` for integer tensors, exactly.
    public func intItem() -> Int {
        guard numel == 1 else {
            ErrorCapture.raise(EmberError(.runtime, "a Tensor with \(numel) elements cannot be converted to Scalar"))
            return 0
        }
        guard checkItemReadable() else { return 0 }
        return Int(toInt64s()[0])
    }

    /// The elements in row-major order, converted to `T` (`tolist()` flattened).
    public func toArray<T: TensorScalar>(_: T.Type = T.self) -> [T] {
        guard checkReadable() else { return [] }
        guard numel > 0 else { return [] }   // an empty tensor has no storage bytes
        let c = Tensor(shape: shape, dtype: T.dtype, device: .cpu, zeroed: false)
        copyElements(from: self, to: c)
        return Array(UnsafeBufferPointer(start: c.pointer(T.self), count: numel))
    }

    /// All elements as Doubles in row-major order.
    public func toDoubles() -> [Double] { toArray(Double.self) }
    /// All elements as Int64 in row-major order (floating values truncated).
    public func toInt64s() -> [Int64] { toArray(Int64.self) }
    /// All elements as Floats in row-major order.
    public func toFloats() -> [Float] { toArray(Float.self) }
    /// All elements as Bools in row-major order.
    public func toBools() -> [Bool] { toArray(Bool.self) }
}
