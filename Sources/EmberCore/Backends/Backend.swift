import Synchronization

/// The seam between the tensor core and the devices that compute.
///
/// Ops in `Ops/` check shapes, dtypes and devices, promote types, allocate the output on the right
/// device and record autograd; then they hand the arithmetic to the output device's ``Backend``.
/// A backend owns its device memory (through ``Storage/owner``) and implements the kernels below.
/// Adding a device means adding a folder under `Backends/` with a type conforming to ``Backend``
/// and its case in ``BackendRegistry``; nothing in `Ops/` changes.
///
/// Every kernel has a default implementation that runs the CPU backend on host copies of the
/// operands and writes the results back (PyTorch's MPS backend calls the same idea its "CPU
/// fallback"). A backend overrides the kernels it has natively; the defaults keep every op working
/// meanwhile, at the cost of transfers. Kernels get operands already on the backend's device and
/// an output of the final shape; operands are already broadcast (`rawExpand`) except where a
/// kernel's documentation says otherwise.
protocol Backend: AnyObject, Sendable {
    // MARK: Memory

    /// Device memory of `byteCount` bytes (zero-filled when `zeroed`), kept alive by the returned
    /// object; ``Storage`` holds it as its `owner`.
    func allocate(byteCount: Int, zeroed: Bool, device: Device) -> AnyObject?

    /// Copies `byteCount` host bytes into `storage` at `byteOffset`.
    func upload(_ bytes: UnsafeRawPointer, byteCount: Int, to storage: Storage, byteOffset: Int)

    /// Copies `byteCount` bytes of `storage` at `byteOffset` to host memory, waiting for pending
    /// work on the device (a synchronisation point).
    func download(_ storage: Storage, byteOffset: Int, byteCount: Int, into bytes: UnsafeMutableRawPointer)

    // MARK: Kernels every backend implements

    /// `dst[i] = cast(src[i])` for tensors of equal shape on this device, any strides and dtypes.
    func copy(from src: Tensor, to dst: Tensor)

    /// Sets every element of `t` (any layout) to `value` converted to `t.dtype`.
    func fill(_ t: Tensor, with value: Double)

    // MARK: Kernels with a host fallback

    /// `out = op(x)`; `out.dtype` is the op's result dtype.
    func unary(_ op: UnaryOp, _ x: Tensor, into out: Tensor)

    /// `out = op(a, b)` computed in `computeType` (PyTorch's promoted type); `a`, `b` broadcast to
    /// `out.shape` (the backend casts them first, then expands: casting the smaller tensor).
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, computeType: DType, into out: Tensor)

    /// `out = condition ? a : b`; all expanded to `out.shape`, `a` and `b` already in `out.dtype`.
    func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor)

    /// Reduces `x` over the sorted `dims` into `out` (shaped with or without kept dims).
    func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], into out: Tensor)

    /// Max (or min) along `dim` with int64 indices of the first occurrence (NaN wins).
    func extremum(_ x: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor)

    /// Softmax (or log-softmax) of float32 `x` along `dim` into float32 `out` of the same shape.
    func softmax(_ x: Tensor, dim: Int, log: Bool, into out: Tensor)

    /// Batched matrix product: `a` [..., m, k] · `b` [..., k, n] → `out` [..., m, n], batch dims
    /// already broadcast to `out`'s, one floating dtype throughout.
    func matmul(_ a: Tensor, _ b: Tensor, into out: Tensor)

    /// `out = x.index_select(dim, index)`; `index` is int64 on this device, `values` its checked,
    /// wrapped values (read once by the op for PyTorch's bounds errors).
    func indexSelect(_ x: Tensor, dim: Int, index: Tensor, values: [Int], into out: Tensor)

    /// `out` (0-d) = `linalg.vector_norm(x, ord)` of all elements of `x` (already in `out.dtype`).
    func vectorNorm(_ x: Tensor, ord: Double, into out: Tensor)

    // MARK: Fast paths (optional: `false`/`nil` means "use the composed op")

    /// `y += alpha * x` in place for equal shapes (or `x` broadcast when `alpha == 1`).
    func addInPlace(_ y: Tensor, _ x: Tensor, alpha: Double) -> Bool
    /// `x *= value` in place.
    func scaleInPlace(_ x: Tensor, by value: Double) -> Bool
    /// `t[mask] = value` in place, `mask` bool broadcast to `t.shape`.
    func maskedFillInPlace(_ t: Tensor, mask: Tensor, value: Double) -> Bool
    /// Rows `values[j]` of `t` (dim 0) += rows `j` of `source` (embedding gradients).
    func indexAddRows(_ t: Tensor, index: Tensor, values: [Int], source: Tensor) -> Bool
    /// The gradient of GELU's tanh form, `g · gelu'(x)`, in one pass.
    func geluTanhBackward(_ x: Tensor, _ g: Tensor) -> Tensor?
    /// One Adam/AdamW step in place on `p`, `m`, `v` (and `vMax` with amsgrad), operands of one
    /// shape and dtype (see ``Tensor/fusedAdam_(grad:expAvg:expAvgSq:maxExpAvgSq:lr:beta1:beta2:eps:weightDecay:decoupledWeightDecay:maximize:step:)``).
    func adam(_ p: Tensor, grad: Tensor, m: Tensor, v: Tensor, vMax: Tensor?, _ h: AdamStep) -> Bool
    /// One SGD step in place on `p` (and the momentum `buffer`), see ``Tensor/fusedSGD_(grad:momentumBuffer:freshBuffer:lr:momentum:dampening:weightDecay:nesterov:maximize:)``.
    func sgd(_ p: Tensor, grad: Tensor, buffer: Tensor?, _ h: SGDStep) -> Bool
    /// Softmax's (or log-softmax's) gradient along the last dim into float32 `out`: `y·(g − Σ g·y)`
    /// (`g − exp(y)·Σ g`), from the saved output `y` and the incoming gradient `g`, both float32.
    func softmaxBackward(_ y: Tensor, _ g: Tensor, log: Bool, into out: Tensor) -> Bool
    /// `out[r] = x[r, index[r]]` for `x` `[..., len]` and int64 `index` `[..., 1]` (gather on the last dim).
    func gatherLast(_ x: Tensor, index: Tensor, into out: Tensor) -> Bool
    /// `t[r, index[r]] += source[r]` in place (scatter-add on the last dim, the gather's backward).
    func scatterAddLast(_ t: Tensor, index: Tensor, source: Tensor) -> Bool
    /// Layer norm over the last `len` elements of each row of float32 `x`: `y`, and each row's mean
    /// and reciprocal standard deviation (saved for the backward), or nil for the composed ops.
    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, len: Int, eps: Double) -> (y: Tensor, mean: Tensor, rstd: Tensor)?
    /// The input gradient of ``layerNorm(_:weight:bias:len:eps:)``.
    func layerNormBackward(_ x: Tensor, _ g: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor, len: Int) -> Tensor?
    /// The weight and bias gradients of ``layerNorm(_:weight:bias:len:eps:)``: `Σ_rows g·x̂`, `Σ_rows g`.
    func layerNormParamGrad(_ x: Tensor, _ g: Tensor, mean: Tensor, rstd: Tensor, len: Int) -> (weight: Tensor, bias: Tensor)?
    /// Class-index NLL of `rows` `[n, classes]` in one pass (see ``Tensor/classNLLLoss(targets:ignoreIndex:reduction:logSoftmax:lossShape:dtype:nodeName:)``).
    func classNLL(_ rows: Tensor, _ request: ClassNLLRequest) -> ClassNLLResult?
}

// MARK: - Defaults

extension Backend {
    func addInPlace(_ y: Tensor, _ x: Tensor, alpha: Double) -> Bool { false }
    func scaleInPlace(_ x: Tensor, by value: Double) -> Bool { false }
    func maskedFillInPlace(_ t: Tensor, mask: Tensor, value: Double) -> Bool { false }
    func indexAddRows(_ t: Tensor, index: Tensor, values: [Int], source: Tensor) -> Bool { false }
    func geluTanhBackward(_ x: Tensor, _ g: Tensor) -> Tensor? { nil }
    func adam(_ p: Tensor, grad: Tensor, m: Tensor, v: Tensor, vMax: Tensor?, _ h: AdamStep) -> Bool { false }
    func sgd(_ p: Tensor, grad: Tensor, buffer: Tensor?, _ h: SGDStep) -> Bool { false }
    func classNLL(_ rows: Tensor, _ request: ClassNLLRequest) -> ClassNLLResult? { nil }
    func softmaxBackward(_ y: Tensor, _ g: Tensor, log: Bool, into out: Tensor) -> Bool { false }
    func gatherLast(_ x: Tensor, index: Tensor, into out: Tensor) -> Bool { false }
    func scatterAddLast(_ t: Tensor, index: Tensor, source: Tensor) -> Bool { false }
    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, len: Int, eps: Double) -> (y: Tensor, mean: Tensor, rstd: Tensor)? { nil }
    func layerNormBackward(_ x: Tensor, _ g: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor, len: Int) -> Tensor? { nil }
    func layerNormParamGrad(_ x: Tensor, _ g: Tensor, mean: Tensor, rstd: Tensor, len: Int) -> (weight: Tensor, bias: Tensor)? { nil }

    func unary(_ op: UnaryOp, _ x: Tensor, into out: Tensor) {
        onHost([x], out) { h, o in CPUBackend.shared.unary(op, h[0], into: o) }
    }
    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, computeType: DType, into out: Tensor) {
        onHost([a, b], out) { h, o in CPUBackend.shared.binary(op, h[0], h[1], computeType: computeType, into: o) }
    }
    func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        onHost([condition, a, b], out) { h, o in CPUBackend.shared.select(h[0], h[1], h[2], into: o) }
    }
    func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], into out: Tensor) {
        onHost([x], out) { h, o in CPUBackend.shared.reduce(op, h[0], dims: dims, into: o) }
    }
    func extremum(_ x: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor) {
        extremumOnHost(x, dim: dim, largest: largest, values: values, indices: indices)
    }

    /// ``extremum(_:dim:largest:values:indices:)`` on host copies (two outputs, so not ``onHost``).
    func extremumOnHost(_ x: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor) {
        HostFallbacks.record("extremum(_:dim:largest:values:indices:)")
        let hv = Tensor(shape: values.shape, dtype: values.dtype, device: .cpu, zeroed: false)
        let hi = Tensor(shape: indices.shape, dtype: .int64, device: .cpu, zeroed: false)
        CPUBackend.shared.extremum(x.hostCopy(), dim: dim, largest: largest, values: hv, indices: hi)
        copyElements(from: hv, to: values)
        copyElements(from: hi, to: indices)
    }
    func softmax(_ x: Tensor, dim: Int, log: Bool, into out: Tensor) {
        onHost([x], out) { h, o in CPUBackend.shared.softmax(h[0], dim: dim, log: log, into: o) }
    }
    func matmul(_ a: Tensor, _ b: Tensor, into out: Tensor) {
        onHost([a, b], out) { h, o in CPUBackend.shared.matmul(h[0], h[1], into: o) }
    }
    func indexSelect(_ x: Tensor, dim: Int, index: Tensor, values: [Int], into out: Tensor) {
        onHost([x, index], out) { h, o in CPUBackend.shared.indexSelect(h[0], dim: dim, index: h[1], values: values, into: o) }
    }

    func vectorNorm(_ x: Tensor, ord: Double, into out: Tensor) {
        onHost([x], out) { h, o in CPUBackend.shared.vectorNorm(h[0], ord: ord, into: o) }
    }

    /// Runs `body` on host copies of `inputs` and a host output, then copies that output to `out`.
    /// `kernel` names the fallback in ``HostFallbacks``.
    func onHost(_ inputs: [Tensor], _ out: Tensor, kernel: String = #function, _ body: ([Tensor], Tensor) -> Void) {
        HostFallbacks.record(kernel)
        let host = inputs.map { $0.hostCopy() }
        let o = Tensor(shape: out.shape, dtype: out.dtype, device: .cpu, zeroed: false)
        body(host, o)
        copyElements(from: o, to: out)
    }
}

/// How often each kernel ran through the host fallback on a non-CPU device, by kernel name: the
/// list of what an accelerator backend still lacks for a workload (tests assert the GPT's training
/// step needs none).
public enum HostFallbacks {
    private static let counts = Mutex<[String: Int]>([:])

    static func record(_ kernel: String) { counts.withLock { $0[kernel, default: 0] += 1 } }

    /// The counts so far, e.g. `["reduce(_:_:dims:into:)": 3]`.
    public static var snapshot: [String: Int] { counts.withLock { $0 } }
}

// MARK: - Registry

/// Which backend computes on which device type: one line per backend.
enum BackendRegistry {
    /// The backend of `device`, or nil for `meta` and devices with no backend in this build.
    static func backend(for device: Device) -> Backend? {
        switch device {
        case .cpu: return CPUBackend.shared
        case .vulkan(let i): return VulkanBackend.backend(index: i)
        case .meta, .cuda: return nil
        }
    }

    /// Why `device` cannot hold tensors, or nil when it can (cpu, meta and available accelerators).
    static func unavailableReason(_ device: Device) -> String? {
        switch device {
        case .cpu, .meta: return nil
        case .vulkan(let i): return VulkanBackend.unavailableReason(index: i)
        case .cuda: return "Ember has no CUDA backend in this build"
        }
    }
}

extension Device {
    /// Whether tensors can be created and computed on this device in this process.
    public var isAvailable: Bool { BackendRegistry.unavailableReason(self) == nil }

    /// Why the device is unavailable (e.g. "libvulkan.so.1 could not be loaded"), nil when it is.
    public var unavailableReason: String? { BackendRegistry.unavailableReason(self) }
}

/// The backend for an op's output device. Raises "no backend computes on …" and returns nil for a
/// device without one (the op then returns its unfilled output).
func backend(_ device: Device) -> Backend? {
    if let b = BackendRegistry.backend(for: device) { return b }
    _ = raiseError("no backend computes on \(device): \(BackendRegistry.unavailableReason(device) ?? "no data on this device")")
    return nil
}

// MARK: - Copies within and across devices

/// `dst[i] = cast(src[i])` for equal shapes on any devices (the kernel behind `copy_`, `to`,
/// `clone`, `contiguous`). Across devices, the bytes travel contiguous in the destination dtype.
func copyElements(from src: Tensor, to dst: Tensor) {
    if src.isMeta || dst.isMeta || dst.numel == 0 { return }
    if src.device == dst.device {
        backend(dst.device)?.copy(from: src, to: dst)
        return
    }
    // Host side: a contiguous CPU tensor in dst's dtype.
    let host: Tensor
    if src.device == .cpu {
        host = src.dtype == dst.dtype && src.isContiguous ? src : {
            let h = Tensor(shape: src.shape, dtype: dst.dtype, device: .cpu, zeroed: false)
            CPUBackend.shared.copy(from: src, to: h)
            return h
        }()
    } else {
        host = src.hostCopy()
    }
    if dst.device == .cpu {
        CPUBackend.shared.copy(from: host, to: dst)
        return
    }
    guard let be = backend(dst.device) else { return }
    let bytes = host.numel * host.dtype.itemSize
    let hostBytes = UnsafeRawPointer(host.storage.data! + host.storageOffset * host.dtype.itemSize)
    if dst.isContiguous && dst.dtype == host.dtype {
        be.upload(hostBytes, byteCount: bytes, to: dst.storage, byteOffset: dst.storageOffset * dst.dtype.itemSize)
    } else {
        let staged = Tensor(shape: dst.shape, dtype: host.dtype, device: dst.device, zeroed: false)
        be.upload(hostBytes, byteCount: bytes, to: staged.storage, byteOffset: 0)
        be.copy(from: staged, to: dst)
    }
}

extension Tensor {
    /// A contiguous CPU tensor with this tensor's values and dtype (self when already one).
    func hostCopy() -> Tensor {
        if device == .cpu { return self }
        let h = Tensor(shape: shape, dtype: dtype, device: .cpu, zeroed: false)
        guard numel > 0, !isMeta, let be = backend(device) else { return h }
        var src = self
        if !isContiguous {
            src = Tensor(shape: shape, dtype: dtype, device: device, zeroed: false)
            be.copy(from: self, to: src)
        }
        be.download(src.storage, byteOffset: src.storageOffset * dtype.itemSize,
                    byteCount: numel * dtype.itemSize, into: h.storage.data!)
        return h
    }
}
