/// softmax and log_softmax over any dimension (`torch.softmax`, `torch.log_softmax`).
/// Rows are max-subtracted for stability; the backend computes them in float32.

extension Tensor {
    /// Softmax or log-softmax along `dim` computed in float32 by the device's backend, returned
    /// in `dt` (half types round the float32 result, as PyTorch's CPU kernels do).
    func float32Rowwise(_ dim: Int, log: Bool, as dt: DType) -> Tensor? {
        guard let d = checkedDim(dim) else { return nil }
        let out = Tensor(shape: shape, dtype: .float32, device: device, zeroed: false)
        backend(device)?.softmax(rawCast(.float32), dim: d, log: log, into: out)
        return out.rawCast(dt)
    }

    /// Softmax / log-softmax of a float64 tensor computed in float64 (the float32 row kernels would
    /// round it; PyTorch keeps double precision). A row of all `-inf` gives NaN, as in PyTorch.
    func float64Rowwise(_ dim: Int, log: Bool) -> Tensor? {
        guard let d = checkedDim(dim) else { return nil }
        return noGrad {
            let shifted = self - self.max(d, keepdim: true).values
            let sum = shifted.exp().sum(d, keepdim: true)
            return log ? shifted - sum.log() : shifted.exp() / sum
        }
    }

    /// Softmax's gradient from the device's one-pass kernel when `dim` is the last and the backend
    /// has one (Vulkan), else nil: the caller composes it from tensor ops.
    static func fusedSoftmaxBackward(_ y: Tensor, _ g: Tensor, dim: Int, log: Bool) -> Tensor? {
        guard y.dtype == .float32, g.dtype == .float32, g.shape == y.shape, y.ndim >= 1,
              dim == y.ndim - 1 || dim == -1, !y.isMeta else { return nil }
        let out = Tensor(shape: y.shape, dtype: .float32, device: y.device, zeroed: false)
        guard backend(y.device)?.softmaxBackward(y.rawContiguous(), g.rawContiguous(), log: log, into: out) == true else { return nil }
        return out
    }

    func rawTranspose(_ a: Int, _ b: Int) -> Tensor {
        var sh = shape, st = strides
        sh.swapAt(a, b); st.swapAt(a, b)
        return Tensor(storage: storage, shape: sh, strides: st, storageOffset: storageOffset, dtype: dtype)
    }

    /// `softmax(dim)`: exp(x − max) / Σ exp(x − max) along `dim`. Floating dtypes only.
    public func softmax(_ dim: Int) -> Tensor {
        let dt = dtype.isFloatingPoint ? dtype : DefaultDType.floating
        if isMeta { return Tensor(metaShape: shape, dtype: dt) }
        guard let out = dt == .float64 ? float64Rowwise(dim, log: false) : float32Rowwise(dim, log: false, as: dt)
        else { return Tensor(metaShape: shape, dtype: dt) }
        if Tensor.needsGrad([self]) {
            let d = dim
            let y = out.detach()   // PyTorch saves the result: version-checked, no cycle
            out.recordGrad("SoftmaxBackward0", [self], savingOutput: true) { g in
                if let fused = Tensor.fusedSoftmaxBackward(y, g, dim: d, log: false) { return [fused] }
                return [y * (g - (g * y).sum(d, keepdim: true))]
            }
        }
        return out
    }

    /// `log_softmax(dim)`: x − max − log Σ exp(x − max).
    public func logSoftmax(_ dim: Int) -> Tensor {
        let dt = dtype.isFloatingPoint ? dtype : DefaultDType.floating
        if isMeta { return Tensor(metaShape: shape, dtype: dt) }
        guard let out = dt == .float64 ? float64Rowwise(dim, log: true) : float32Rowwise(dim, log: true, as: dt)
        else { return Tensor(metaShape: shape, dtype: dt) }
        if Tensor.needsGrad([self]) {
            let d = dim
            let y = out.detach()   // PyTorch saves the result: version-checked, no cycle
            out.recordGrad("LogSoftmaxBackward0", [self], savingOutput: true) { g in
                if let fused = Tensor.fusedSoftmaxBackward(y, g, dim: d, log: true) { return [fused] }
                return [g - y.exp() * g.sum(d, keepdim: true)]
            }
        }
        return out
    }
}

/// Free-function spellings used by the book's code (`torch.softmax(x, dim=-1)`).
public func softmax(_ x: Tensor, dim: Int) -> Tensor { x.softmax(dim) }
public func logSoftmax(_ x: Tensor, dim: Int) -> Tensor { x.logSoftmax(dim) }

