/// Joining and triangular ops: `cat`, `stack`, `tril`, `triu`.

extension Tensor {
    /// `torch.cat(tensors, dim)`: concatenates along an existing dimension.
    /// Errors: empty list, rank or size mismatches (PyTorch's wording), devices differing.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        guard let first = tensors.first(where: { !($0.ndim == 1 && $0.numel == 0) }) ?? tensors.first else {
            return raiseError("torch.cat(): expected a non-empty list of Tensors")
        }
        let parts = tensors.filter { !($0.ndim == 1 && $0.numel == 0) || $0 === first }
        guard let dev = commonDevice(parts) else { return Tensor(metaShape: first.shape, dtype: first.dtype) }
        guard let d = first.checkedDim(dim) else { return Tensor(metaShape: first.shape, dtype: first.dtype) }
        var total = 0
        for (i, t) in parts.enumerated() {
            guard t.ndim == first.ndim else {
                return raiseError("Tensors must have same number of dimensions: got \(first.ndim) and \(t.ndim)", dtype: first.dtype)
            }
            for k in 0..<t.ndim where k != d && t.shape[k] != first.shape[k] {
                return raiseError("Sizes of tensors must match except in dimension \(d). Expected size \(first.shape[k]) but got size \(t.shape[k]) for tensor number \(i) in the list.", dtype: first.dtype)
            }
            total += t.shape[d]
        }
        let dt = parts.dropFirst().reduce(first.dtype) { DType.promoted($0, $1.dtype) }
        var outShape = first.shape
        outShape[d] = total
        let out = Tensor(shape: outShape, dtype: dt, device: dev, zeroed: false)
        if dev == .meta { return out }
        var start = 0
        for t in parts {
            let len = t.shape[d]
            let dst = Tensor(storage: out.storage, shape: t.shape, strides: out.strides,
                             storageOffset: start * out.strides[d], dtype: dt)
            copyElements(from: t, to: dst)
            start += len
        }
        if Tensor.needsGrad(parts) {
            let sizes = parts.map { $0.shape[d] }
            out.recordGrad("CatBackward0", parts) { g in g.split(sizes: sizes, dim: d).enumerated().map { $1.gradFor(parts[$0]) } }
        }
        return out
    }

    /// `torch.stack(tensors, dim)`: joins equal-shaped tensors along a new dimension.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        guard let first = tensors.first else { return raiseError("stack expects a non-empty TensorList") }
        for (i, t) in tensors.enumerated() where t.shape != first.shape {
            return raiseError("stack expects each tensor to be equal size, but got \(formatShape(first.shape)) at entry 0 and \(formatShape(t.shape)) at entry \(i)", dtype: first.dtype)
        }
        let n = first.ndim + 1
        guard dim >= -n && dim < n else {
            return raiseError(.index, "Dimension out of range (expected to be in range of [\(-n), \(n - 1)], but got \(dim))", dtype: first.dtype)
        }
        let d = dim < 0 ? dim + n : dim
        return cat(tensors.map { $0.unsqueeze(d) }, dim: d)
    }

    /// `tril(diagonal)`: keeps elements on and below the `diagonal`-th diagonal of the last two dims.
    public func tril(diagonal: Int = 0) -> Tensor { triangle(lower: true, diagonal: diagonal) }
    /// `triu(diagonal)`: keeps elements on and above the `diagonal`-th diagonal (the book's causal
    /// mask is `ones(T, T).triu(diagonal: 1)`).
    public func triu(diagonal: Int = 0) -> Tensor { triangle(lower: false, diagonal: diagonal) }

    func triangle(lower: Bool, diagonal: Int) -> Tensor {
        guard ndim >= 2 else {
            return raiseError("\(lower ? "tril" : "triu"): input tensor must have at least 2 dimensions", shape: shape, dtype: dtype)
        }
        let r = shape[ndim - 2], c = shape[ndim - 1]
        let maskT = Tensor(shape: [r, c], dtype: .bool, device: .cpu)
        let p = maskT.pointer(Bool.self)
        for i in 0..<r { for j in 0..<c { p[i * c + j] = lower ? (j - i <= diagonal) : (j - i >= diagonal) } }
        let mask = isMeta ? Tensor(metaShape: [r, c], dtype: .bool) : maskT.to(device)
        return Tensor.where(mask, self, Tensor.zeros([], dtype: dtype, device: device))
    }
}
