/// Tensor creation: from Swift values and the factory functions of `torch` (zeros, ones, full,
/// empty, arange, linspace, eye, *_like). Source: https://pytorch.org/docs/stable/torch.html#creation-ops

/// A Swift value that can become a tensor: a scalar or a (nested) array of them.
public protocol TensorLiteralConvertible {
    /// The dtype PyTorch infers: float32 for floating literals, int64 for integers, bool for Bool.
    static var literalDType: DType { get }
    static var literalDepth: Int { get }
    func appendShape(to shape: inout [Int], depth: Int) -> Bool
    func appendValues(to values: inout [Double], ints: inout [Int64])
}

extension Double: TensorLiteralConvertible {
    public static var literalDType: DType { .float32 }
    public static var literalDepth: Int { 0 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool { true }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) { values.append(self) }
}
extension Float: TensorLiteralConvertible {
    public static var literalDType: DType { .float32 }
    public static var literalDepth: Int { 0 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool { true }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) { values.append(Double(self)) }
}
extension Int: TensorLiteralConvertible {
    public static var literalDType: DType { .int64 }
    public static var literalDepth: Int { 0 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool { true }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) { ints.append(Int64(self)) }
}
extension Int64: TensorLiteralConvertible {
    public static var literalDType: DType { .int64 }
    public static var literalDepth: Int { 0 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool { true }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) { ints.append(self) }
}
extension Bool: TensorLiteralConvertible {
    public static var literalDType: DType { .bool }
    public static var literalDepth: Int { 0 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool { true }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) { ints.append(self ? 1 : 0) }
}
extension Array: TensorLiteralConvertible where Element: TensorLiteralConvertible {
    public static var literalDType: DType { Element.literalDType }
    public static var literalDepth: Int { Element.literalDepth + 1 }
    public func appendShape(to shape: inout [Int], depth: Int) -> Bool {
        if shape.count == depth { shape.append(count) } else if shape[depth] != count { return false }
        for e in self where !e.appendShape(to: &shape, depth: depth + 1) { return false }
        if isEmpty && Element.literalDepth > 0 && shape.count == depth + 1 {
            // An empty inner list fixes the remaining dims at 0 only as far as PyTorch does: [] -> [0].
        }
        return true
    }
    public func appendValues(to values: inout [Double], ints: inout [Int64]) {
        for e in self { e.appendValues(to: &values, ints: &ints) }
    }
}

extension Tensor {
    /// `torch.tensor(data)`: copies a scalar or nested array into a new tensor.
    ///
    /// - Parameters:
    ///   - data: e.g. `[[0.43, 0.15], [0.55, 0.87]]`; floating literals give float32, integers int64.
    ///   - dtype: overrides the inferred dtype.
    ///   - requiresGrad: makes the result a leaf that requires grad.
    /// Ragged nested arrays raise PyTorch's ValueError.
    public convenience init<L: TensorLiteralConvertible>(_ data: L, dtype: DType? = nil, device: Device = .cpu, requiresGrad: Bool = false) {
        var shape: [Int] = []
        let regular = data.appendShape(to: &shape, depth: 0)
        var doubles: [Double] = []
        var ints: [Int64] = []
        data.appendValues(to: &doubles, ints: &ints)
        let dt = dtype ?? L.literalDType
        if !regular {
            ErrorCapture.raise(EmberError(.value, "expected sequence of length \(shape.last ?? 0) at dim \(Swift.max(shape.count - 1, 0)) (got a different length)"))
            self.init(shape: [0], dtype: dt, device: .meta)
            return
        }
        while shape.count < L.literalDepth { shape.append(0) }
        self.init(shape: shape, dtype: dt, device: .cpu)
        if L.literalDType == .float32 {
            self.fill(fromDoubles: doubles)
        } else {
            self.fill(fromInts: ints)
        }
        if device != .cpu { self.setData(self.to(device)) }
        if requiresGrad { self.requiresGrad = true }
    }

    /// Writes row-major values into this contiguous CPU tensor (converting to its dtype).
    func fill(fromDoubles values: [Double]) {
        struct V: DTypeVisitor {
            let t: Tensor, values: [Double]
            func visit<T: TensorScalar>(_: T.Type) {
                let p = t.pointer(T.self)
                for i in 0..<values.count { p[i] = convertScalar(values[i], to: T.self) }
            }
        }
        if !values.isEmpty { visitDType(dtype, V(t: self, values: values)) }   // empty: no storage bytes
    }

    func fill(fromInts values: [Int64]) {
        struct V: DTypeVisitor {
            let t: Tensor, values: [Int64]
            func visit<T: TensorScalar>(_: T.Type) {
                let p = t.pointer(T.self)
                for i in 0..<values.count { p[i] = T(fromInt64: values[i]) }
            }
        }
        if !values.isEmpty { visitDType(dtype, V(t: self, values: values)) }   // empty: no storage bytes
    }

    /// A tensor from a flat array of values and a shape (the fast path for large data).
    ///
    /// - Precondition-like check: `values.count` must equal the product of `shape`, else ValueError.
    public convenience init<T: TensorScalar>(array values: [T], shape: [Int]? = nil, device: Device = .cpu) {
        let sh = shape ?? [values.count]
        self.init(shape: sh, dtype: T.dtype, device: .cpu, zeroed: false)
        if sh.reduce(1, *) != values.count {
            ErrorCapture.raise(EmberError(.value, "shape '\(sh)' is invalid for input of size \(values.count)"))
            self.setData(Tensor(metaShape: sh, dtype: T.dtype))
            return
        }
        values.withUnsafeBufferPointer { b in
            if let base = b.baseAddress, !b.isEmpty {
                storage.data!.copyMemory(from: base, byteCount: b.count * MemoryLayout<T>.stride)
            }
        }
        if device != .cpu { self.setData(self.to(device)) }
    }

    // MARK: - Factories

    /// `torch.empty(shape)`: uninitialised values (zero-filled on the CPU in Ember).
    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        Tensor(shape: shape, dtype: dtype, device: device)
    }

    /// `torch.zeros(shape)`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        Tensor(shape: shape, dtype: dtype, device: device)
    }

    /// `torch.ones(shape)`.
    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        full(shape, 1, dtype: dtype, device: device)
    }

    /// `torch.full(shape, value)`; the dtype defaults to float32 (PyTorch infers int64 for an
    /// integer fill value: pass `dtype: .int64`).
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let t = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
        if device != .meta { backend(device)?.fill(t, with: value) }
        return t
    }

    public static func zerosLike(_ t: Tensor, dtype: DType? = nil) -> Tensor { zeros(t.shape, dtype: dtype ?? t.dtype, device: t.device) }
    public static func onesLike(_ t: Tensor, dtype: DType? = nil) -> Tensor { ones(t.shape, dtype: dtype ?? t.dtype, device: t.device) }
    public static func fullLike(_ t: Tensor, _ value: Double, dtype: DType? = nil) -> Tensor { full(t.shape, value, dtype: dtype ?? t.dtype, device: t.device) }
    public static func emptyLike(_ t: Tensor, dtype: DType? = nil) -> Tensor { empty(t.shape, dtype: dtype ?? t.dtype, device: t.device) }

    /// `torch.arange(end)`: int64 values 0..<end.
    public static func arange(_ end: Int, dtype: DType = .int64, device: Device = .cpu) -> Tensor {
        arange(0, end, 1, dtype: dtype, device: device)
    }

    /// `torch.arange(start, end, step)` with integer arguments (int64 unless `dtype` says otherwise).
    public static func arange(_ start: Int, _ end: Int, _ step: Int = 1, dtype: DType = .int64, device: Device = .cpu) -> Tensor {
        guard step != 0 else { return raiseError("step must be nonzero") }
        let n = Swift.max(0, (end - start + step - (step > 0 ? 1 : -1)) / step)
        let t = Tensor(shape: [n], dtype: dtype, device: device.hostOrMeta)
        if !t.isMeta { t.fill(fromInts: (0..<n).map { Int64(start + $0 * step) }) }
        return t.to(device)
    }

    /// `torch.arange(start, end, step)` with floating arguments (float32 unless `dtype` says otherwise):
    /// `ceil((end - start) / step)` values `start + i * step`.
    public static func arange(_ start: Double, _ end: Double, _ step: Double = 1, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        guard step != 0 else { return raiseError("step must be nonzero") }
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(shape: [n], dtype: dtype, device: device.hostOrMeta)
        if !t.isMeta { t.fill(fromDoubles: (0..<n).map { start + Double($0) * step }) }
        return t.to(device)
    }

    /// `torch.linspace(start, end, steps)`: PyTorch computes the first half from `start` and the
    /// second half backwards from `end`, so both endpoints are exact.
    public static func linspace(_ start: Double, _ end: Double, steps: Int, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        guard device == .cpu else { return linspace(start, end, steps: steps, dtype: dtype, device: device.hostOrMeta).to(device) }
        let t = Tensor(shape: [steps], dtype: dtype, device: device)
        guard steps > 0 else { return t }
        if steps == 1 { t.fill(fromDoubles: [start]); return t }
        if dtype == .float32 {
            // Float arithmetic as ATen's CPU kernel does it for float32; its `start + step * i`
            // is compiled to a fused multiply-add (x86-64 builds of PyTorch 2.13), so one rounding.
            let s = Float(start), e = Float(end)
            let step = (e - s) / Float(steps - 1)
            let half = steps / 2
            let p = t.pointer(Float.self)
            for i in 0..<steps {
                p[i] = i < half ? s.addingProduct(step, Float(i)) : e.addingProduct(-step, Float(steps - i - 1))
            }
            return t
        }
        let step = (end - start) / Double(steps - 1)
        let half = steps / 2
        t.fill(fromDoubles: (0..<steps).map { i in
            i < half ? start.addingProduct(step, Double(i)) : end.addingProduct(-step, Double(steps - i - 1))
        })
        return t
    }

    /// `torch.eye(n, m)`.
    public static func eye(_ n: Int, _ m: Int? = nil, dtype: DType = .float32, device: Device = .cpu) -> Tensor {
        let cols = m ?? n
        let t = zeros([n, cols], dtype: dtype, device: device.hostOrMeta)
        if !t.isMeta {
            var v = [Double](repeating: 0, count: n * cols)
            for i in 0..<Swift.min(n, cols) { v[i * cols + i] = 1 }
            t.fill(fromDoubles: v)
        }
        return t.to(device)
    }
}
