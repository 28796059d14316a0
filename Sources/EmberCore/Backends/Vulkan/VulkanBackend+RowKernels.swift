#if canImport(CEmberVulkan)
import CEmberVulkan

/// The row kernels of ``VulkanBackend`` behind the seam's fast paths: cross-entropy rows and their
/// backward, layer norm (rows, input gradient, parameter gradients), softmax backward, and gather /
/// scatter-add on the last dim. Each takes contiguous float32 operands and declines (false/nil)
/// otherwise, so the op falls back to its composed form.
extension VulkanBackend {
    func softmaxBackward(_ y: Tensor, _ g: Tensor, log: Bool, into out: Tensor) -> Bool {
        guard y.ndim >= 1, [y, g, out].allSatisfy({ $0.dtype == .float32 && $0.isContiguous }),
              let yo = VulkanOperand(y), let go = VulkanOperand(g), let oo = VulkanOperand(out) else { return false }
        let len = y.shape[y.ndim - 1]
        var p = EmberVkSoftmaxRowsBackwardF32Push()
        p.y_offset = yo.offset; p.g_offset = go.offset; p.out_offset = oo.offset
        p.rows = UInt32(y.numel / Swift.max(len, 1)); p.len = UInt32(len); p.log_softmax = log ? 1 : 0
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_SOFTMAX_ROWS_BACKWARD_F32, [yo, go, oo], p, groups: UInt64(p.rows))
    }

    func gatherLast(_ x: Tensor, index: Tensor, into out: Tensor) -> Bool {
        guard x.ndim >= 1, x.dtype == .float32, x.isContiguous, out.isContiguous, index.dtype == .int64, index.isContiguous,
              let xo = VulkanOperand(x), let io = VulkanOperand(index), let oo = VulkanOperand(out) else { return false }
        let len = x.shape[x.ndim - 1]
        var p = EmberVkGatherLastF32Push()
        p.x_offset = xo.offset; p.idx_offset = io.offset; p.out_offset = oo.offset
        p.rows = UInt32(out.numel); p.len = UInt32(len)
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_GATHER_LAST_F32, [xo, io, oo], p, groups: VulkanKernel.groups(out.numel))
    }

    func scatterAddLast(_ t: Tensor, index: Tensor, source: Tensor) -> Bool {
        guard t.ndim >= 1, t.dtype == .float32, t.isContiguous, source.dtype == .float32, index.dtype == .int64, index.isContiguous else { return false }
        let src = source.rawContiguous()
        guard let so = VulkanOperand(src), let io = VulkanOperand(index), let oo = VulkanOperand(t) else { return false }
        var p = EmberVkScatterAddLastF32Push()
        p.src_offset = so.offset; p.idx_offset = io.offset; p.out_offset = oo.offset
        p.rows = UInt32(src.numel); p.len = UInt32(t.shape[t.ndim - 1])
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_SCATTER_ADD_LAST_F32, [so, io, oo], p, groups: VulkanKernel.groups(src.numel))
    }

    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, len: Int, eps: Double) -> (y: Tensor, mean: Tensor, rstd: Tensor)? {
        let rows = x.numel / len
        // No bias with a weight: a zero bias (the shader's affine form has both).
        let b = weight != nil && bias == nil ? Tensor(shape: [len], dtype: .float32, device: x.device, zeroed: true) : bias
        let y = Tensor(shape: x.shape, dtype: .float32, device: x.device, zeroed: false)
        let mean = Tensor(shape: [rows], dtype: .float32, device: x.device, zeroed: false)
        let rstd = Tensor(shape: [rows], dtype: .float32, device: x.device, zeroed: false)
        let affine = weight != nil
        // Without affine parameters bindings 1 and 2 are not read; x is bound in their place.
        guard x.isContiguous, weight == nil || b != nil,
              let xo = VulkanOperand(x), let wo = VulkanOperand(weight ?? x), let bo = VulkanOperand(b ?? x),
              let yo = VulkanOperand(y), let mo = VulkanOperand(mean), let ro = VulkanOperand(rstd) else { return nil }
        if !affine && bias != nil { return nil }
        var p = EmberVkLayerNormRowsF32Push()
        p.x_offset = xo.offset; p.w_offset = wo.offset; p.b_offset = bo.offset; p.y_offset = yo.offset
        p.mean_offset = mo.offset; p.rstd_offset = ro.offset
        p.rows = UInt32(rows); p.len = UInt32(len); p.eps = Float(eps); p.affine = affine ? 1 : 0
        guard VulkanKernel.dispatch(EMBER_VK_KERNEL_LAYER_NORM_ROWS_F32, [xo, wo, bo, yo, mo, ro], p, groups: UInt64(rows)) else { return nil }
        return (y, mean, rstd)
    }

    func layerNormBackward(_ x: Tensor, _ g: Tensor, weight: Tensor?, mean: Tensor, rstd: Tensor, len: Int) -> Tensor? {
        let rows = x.numel / len
        let dx = Tensor(shape: x.shape, dtype: .float32, device: x.device, zeroed: false)
        guard g.dtype == .float32, let xo = VulkanOperand(x), let go = VulkanOperand(g), let wo = VulkanOperand(weight ?? x),
              let mo = VulkanOperand(mean), let ro = VulkanOperand(rstd), let dxo = VulkanOperand(dx) else { return nil }
        var p = EmberVkLayerNormBackwardF32Push()
        p.x_offset = xo.offset; p.g_offset = go.offset; p.w_offset = wo.offset; p.mean_offset = mo.offset
        p.rstd_offset = ro.offset; p.dx_offset = dxo.offset
        p.rows = UInt32(rows); p.len = UInt32(len); p.affine = weight != nil ? 1 : 0
        guard VulkanKernel.dispatch(EMBER_VK_KERNEL_LAYER_NORM_BACKWARD_F32, [xo, go, wo, mo, ro, dxo], p, groups: UInt64(rows)) else { return nil }
        return dx
    }

    func layerNormParamGrad(_ x: Tensor, _ g: Tensor, mean: Tensor, rstd: Tensor, len: Int) -> (weight: Tensor, bias: Tensor)? {
        let dw = Tensor(shape: [len], dtype: .float32, device: x.device, zeroed: false)
        let db = Tensor(shape: [len], dtype: .float32, device: x.device, zeroed: false)
        guard g.dtype == .float32, let xo = VulkanOperand(x), let go = VulkanOperand(g), let mo = VulkanOperand(mean),
              let ro = VulkanOperand(rstd), let wo = VulkanOperand(dw), let bo = VulkanOperand(db) else { return nil }
        var p = EmberVkLayerNormParamGradF32Push()
        p.x_offset = xo.offset; p.g_offset = go.offset; p.mean_offset = mo.offset; p.rstd_offset = ro.offset
        p.dw_offset = wo.offset; p.db_offset = bo.offset
        p.rows = UInt32(x.numel / len); p.len = UInt32(len); p.accumulate = 0
        guard VulkanKernel.dispatch(EMBER_VK_KERNEL_LAYER_NORM_PARAM_GRAD_F32, [xo, go, mo, ro, wo, bo], p, groups: VulkanKernel.groups(len)) else { return nil }
        return (dw, db)
    }

    func classNLL(_ rows: Tensor, _ r: ClassNLLRequest) -> ClassNLLResult? {
        guard r.logSoftmax, rows.dtype == .float32, rows.ndim == 2 else { return nil }
        let x = rows.rawContiguous()
        let n = x.shape[0], c = x.shape[1], dev = x.device
        let targets = Tensor(array: r.targets, shape: [n], device: dev)
        let perRow = Tensor(shape: [n], dtype: .float32, device: dev, zeroed: false)
        let valid = Tensor(shape: [n], dtype: .float32, device: dev, zeroed: false)
        guard r.ignoreIndex >= Int64(Int32.min), r.ignoreIndex <= Int64(Int32.max),
              let xo = VulkanOperand(x), let to = VulkanOperand(targets), let lo = VulkanOperand(perRow),
              let vo = VulkanOperand(valid) else { return nil }
        var p = EmberVkCrossEntropyRowsF32Push()
        p.x_offset = xo.offset; p.target_offset = to.offset; p.loss_offset = lo.offset; p.valid_offset = vo.offset
        p.rows = UInt32(n); p.len = UInt32(c); p.ignore_index = Int32(r.ignoreIndex)
        guard VulkanKernel.dispatch(EMBER_VK_KERNEL_CROSS_ENTROPY_ROWS_F32, [xo, to, lo, vo], p, groups: UInt64(n)) else { return nil }
        let count = r.count, reduction = r.reduction, ignore = Int32(r.ignoreIndex)
        let loss: Tensor
        switch reduction {
        case .none: loss = perRow
        case .sum: loss = perRow.sum()
        case .mean: loss = perRow.sum() / Double(count)
        }
        return (loss, { g in
            // Per-row weight: g[r] (none, stride 1), or the 0-d g (÷ count for the mean, stride 0).
            let w = (reduction == .mean ? g / Double(count) : g).to(.float32).rawContiguous()
            let gx = Tensor(shape: [n, c], dtype: .float32, device: dev, zeroed: false)
            guard let xo = VulkanOperand(x), let to = VulkanOperand(targets), let wo = VulkanOperand(w),
                  let go = VulkanOperand(gx) else { return composedClassNLL(rows, r).backward(g) }
            var b = EmberVkCrossEntropyBackwardF32Push()
            b.x_offset = xo.offset; b.target_offset = to.offset; b.g_offset = wo.offset
            b.g_stride = reduction == .none ? 1 : 0; b.out_offset = go.offset
            b.rows = UInt32(n); b.len = UInt32(c); b.ignore_index = ignore
            VulkanKernel.dispatch(EMBER_VK_KERNEL_CROSS_ENTROPY_BACKWARD_F32, [xo, to, wo, go], b, groups: UInt64(n))
            return gx
        })
    }
}
#endif
