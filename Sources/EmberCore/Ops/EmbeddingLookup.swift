extension Tensor {
    /// The rows of self (a `[numEmbeddings, embeddingDim]` table) at `indices` (int64/int32, any
    /// shape, on self's device): `F.embedding`'s kernel, output `indices.shape + [embeddingDim]`,
    /// `grad_fn` `EmbeddingBackward0` (the rows' gradients added into a zeroed table).
    ///
    /// The indices are read once per call (to check their bounds and to select the rows), and the
    /// backward reuses what was read: one transfer per batch on an accelerator.
    /// - Errors: indices on another device (PyTorch's "Expected all tensors to be on the same device");
    ///   an index outside `0..<numEmbeddings` raises PyTorch's IndexError "index out of range in self".
    /// Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.embedding.html
    public func embeddingRows(_ indices: Tensor) -> Tensor {
        let outShape = indices.shape + [ndim == 2 ? shape[1] : 0]
        guard ndim == 2 else { return raiseError("'weight' must be 2-D", shape: outShape, dtype: dtype) }
        guard indices.device == device else {
            let (a, b) = device == .cpu ? (indices.device, device) : (device, indices.device)
            return raiseError("Expected all tensors to be on the same device, but found at least two devices, \(a) and \(b)!", shape: outShape, dtype: dtype)
        }
        if isMeta || indices.isMeta { return Tensor(metaShape: outShape, dtype: dtype) }
        let n = shape[0]
        let values = indices.toInt64s()
        if values.contains(where: { $0 < 0 || $0 >= Int64(n) }) {
            return raiseError(.index, "index out of range in self", shape: outShape, dtype: dtype)
        }
        let idx = values.map { Int($0) }
        let flat = indices.reshape([-1]).to(.int64)
        let rows = Tensor(shape: [idx.count, shape[1]], dtype: dtype, device: device, zeroed: false)
        backend(device)?.indexSelect(self, dim: 0, index: flat, values: idx, into: rows)
        let out = rows.rawReshape(outShape)
        if Tensor.needsGrad([self]) {
            let tableShape = shape, dim = shape[1]
            out.recordGrad("EmbeddingBackward0", [self]) { g in
                // One zeroed gradient, rows added in place (no copy of the [vocab, emb] table).
                let gw = Tensor.zeros(tableShape, dtype: g.dtype, device: g.device)
                noGrad { gw.indexAddInPlace(0, flat, idx, g.reshape([-1, dim])) }
                return [gw]
            }
        }
        return out
    }
}
