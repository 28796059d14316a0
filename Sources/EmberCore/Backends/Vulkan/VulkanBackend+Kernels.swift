#if canImport(CEmberVulkan)
import CEmberVulkan

/// The float32 kernels of ``VulkanBackend``: each checks that its operands fit the shader's
/// contract (float32 computation, ≤ 6 collapsed dims, 32-bit offsets) and otherwise hands the op to
/// the host fallback of ``Backend``.
extension VulkanBackend {
    func unary(_ op: UnaryOp, _ x: Tensor, into out: Tensor) {
        guard out.computesInFloat32, let code = Self.unaryCode(op) else {
            return onHost([x], out, kernel: "unary \(op)") { h, o in CPUBackend.shared.unary(op, h[0], into: o) }
        }
        // As on the CPU: the input rounds to the result type first, then computes in float32.
        let src = x.rawCast(out.dtype).float32OnDevice().rawContiguous()
        let target = out.dtype == .float32 ? out : Tensor(shape: out.shape, dtype: .float32, device: out.device, zeroed: false)
        guard let s = VulkanOperand(src), let d = VulkanOperand(target) else {
            return onHost([x], out, kernel: "unary \(op)") { h, o in CPUBackend.shared.unary(op, h[0], into: o) }
        }
        var p = EmberVkUnaryF32Push()
        p.in_offset = s.offset; p.out_offset = d.offset; p.n = UInt32(out.numel); p.op = code
        VulkanKernel.dispatch(EMBER_VK_KERNEL_UNARY_F32, [s, d], p, groups: VulkanKernel.groups(out.numel))
        if target !== out { copy(from: target, to: out) }
    }

    func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, computeType ct: DType, into out: Tensor) {
        let fallback = { self.onHost([a, b], out, kernel: "binary \(op) in \(ct)") { h, o in CPUBackend.shared.binary(op, h[0], h[1], computeType: ct, into: o) } }
        let floatCompute = kernelType(ct) == .float32
        if let code = Self.compareCode(op, boolOperands: ct == .bool), floatCompute || ct == .bool {
            let af = a.rawCast(ct).float32OnDevice().rawExpand(out.shape), bf = b.rawCast(ct).float32OnDevice().rawExpand(out.shape)
            guard elementwise(EMBER_VK_KERNEL_COMPARE_F32, code, af, bf, out, compare: true) else { return fallback() }
            return
        }
        guard floatCompute, let code = Self.binaryCode(op) else { return fallback() }
        let af = a.rawCast(ct).float32OnDevice().rawExpand(out.shape), bf = b.rawCast(ct).float32OnDevice().rawExpand(out.shape)
        let target = out.dtype == .float32 ? out : Tensor(shape: out.shape, dtype: .float32, device: out.device, zeroed: false)
        guard elementwise(EMBER_VK_KERNEL_BINARY_F32, code, af, bf, target, compare: false) else { return fallback() }
        if target !== out { copy(from: target, to: out) }
    }

    /// One binary_f32 / compare_f32 dispatch: `a`, `b` float32 expanded to `out.shape`, `out`
    /// contiguous. The two push structs share their layout.
    func elementwise(_ kernel: Int, _ op: UInt32, _ a: Tensor, _ b: Tensor, _ out: Tensor, compare: Bool,
                     scalar: Float? = nil) -> Bool {
        guard out.isContiguous, let layout = VulkanLayout(shape: out.shape, strides: [a.strides, b.strides]),
              let ao = VulkanOperand(a), let bo = VulkanOperand(b), let oo = VulkanOperand(out) else { return false }
        var p = EmberVkBinaryF32Push()
        p.ndim = layout.ndim; p.n = UInt32(out.numel)
        p.a_offset = ao.offset; p.b_offset = bo.offset; p.out_offset = oo.offset; p.op = op
        if let scalar { p.b_is_scalar = 1; p.b_scalar = scalar }
        setSix(&p.shape, layout.shape); setSix(&p.a_strides, layout.strides[0]); setSix(&p.b_strides, layout.strides[1])
        return VulkanKernel.dispatch(kernel, [ao, bo, oo], p, groups: VulkanKernel.groups(out.numel))
    }

    func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        guard out.dtype == .float32, where32(condition, a: a, scalar: nil, b, out) else {
            return onHost([condition, a, b], out) { h, o in CPUBackend.shared.select(h[0], h[1], h[2], into: o) }
        }
    }

    /// One where_f32 dispatch: `out = cond ? (scalar ?? a) : b`, operands expanded to `out.shape`.
    func where32(_ cond: Tensor, a: Tensor, scalar: Float?, _ b: Tensor, _ out: Tensor) -> Bool {
        guard out.isContiguous, cond.dtype == .bool,
              let layout = VulkanLayout(shape: out.shape, strides: [cond.strides, a.strides, b.strides]),
              let co = VulkanOperand(cond), let ao = VulkanOperand(a), let bo = VulkanOperand(b),
              let oo = VulkanOperand(out) else { return false }
        var p = EmberVkWhereF32Push()
        p.ndim = layout.ndim; p.n = UInt32(out.numel)
        p.cond_offset = co.offset; p.a_offset = ao.offset; p.b_offset = bo.offset; p.out_offset = oo.offset
        if let scalar { p.a_is_scalar = 1; p.a_scalar = scalar }
        setSix(&p.shape, layout.shape)
        setSix(&p.cond_strides, layout.strides[0]); setSix(&p.a_strides, layout.strides[1]); setSix(&p.b_strides, layout.strides[2])
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_WHERE_F32, [co, ao, bo, oo], p, groups: VulkanKernel.groups(out.numel))
    }

    func reduce(_ op: ReduceOp, _ x: Tensor, dims: [Int], into out: Tensor) {
        let code: UInt32? = op == .sum ? EMBER_VK_REDUCE_SUM : op == .mean ? EMBER_VK_REDUCE_MEAN : op == .prod ? EMBER_VK_REDUCE_PROD : nil
        guard let code, x.computesInFloat32, out.computesInFloat32 else {
            return onHost([x], out, kernel: "reduce \(op)") { h, o in CPUBackend.shared.reduce(op, h[0], dims: dims, into: o) }
        }
        let xf = x.float32OnDevice()
        let target = out.dtype == .float32 && out.isContiguous ? out : Tensor(shape: out.shape, dtype: .float32, device: out.device, zeroed: false)
        let len = dims.reduce(1) { $0 * x.shape[$1] }
        let consecutive = dims.isEmpty || dims == Array(dims[0]...dims[dims.count - 1])
        var ok = false
        if xf.isContiguous && consecutive && !dims.isEmpty && dims.last! != x.ndim - 1 {
            // Leading or middle dims (bias gradients): [outer, len, inner] without a transpose.
            let outer = x.shape[..<dims[0]].reduce(1, *), inner = x.shape[(dims.last! + 1)...].reduce(1, *)
            if let xo = VulkanOperand(xf), let oo = VulkanOperand(target) {
                var p = EmberVkReduceMidF32Push()
                p.in_offset = xo.offset; p.out_offset = oo.offset
                p.outer = UInt32(outer); p.len = UInt32(len); p.inner = UInt32(inner); p.op = code
                ok = VulkanKernel.dispatch(EMBER_VK_KERNEL_REDUCE_MID_F32, [xo, oo], p, groups: VulkanKernel.groups(outer * inner))
            }
        } else {
            let (rows, _, _) = xf.rowsForReduction(dims, as: .float32)
            let nrows = x.numel / Swift.max(len, 1)
            if let xo = VulkanOperand(rows), let oo = VulkanOperand(target) {
                var p = EmberVkReduceRowsF32Push()
                p.in_offset = xo.offset; p.out_offset = oo.offset
                p.rows = UInt32(nrows); p.len = UInt32(len); p.op = code
                ok = VulkanKernel.dispatch(EMBER_VK_KERNEL_REDUCE_ROWS_F32, [xo, oo], p, groups: UInt64(nrows))
            }
        }
        if !ok { return onHost([x], out, kernel: "reduce \(op)") { h, o in CPUBackend.shared.reduce(op, h[0], dims: dims, into: o) } }
        if target !== out { copy(from: target, to: out) }
    }

    func extremum(_ x: Tensor, dim: Int?, largest: Bool, values: Tensor, indices: Tensor) {
        guard x.computesInFloat32, values.computesInFloat32 else {
            return extremumOnHost(x, dim: dim, largest: largest, values: values, indices: indices)
        }
        let (rows, nrows, len) = x.float32OnDevice().rowsForReduction(dim.map { [$0] } ?? [], as: .float32)
        let v = values.dtype == .float32 && values.isContiguous ? values : Tensor(shape: values.shape, dtype: .float32, device: values.device, zeroed: false)
        guard indices.isContiguous, let xo = VulkanOperand(rows), let vo = VulkanOperand(v), let io = VulkanOperand(indices) else {
            return extremumOnHost(x, dim: dim, largest: largest, values: values, indices: indices)
        }
        var p = EmberVkArgreduceRowsF32Push()
        p.in_offset = xo.offset; p.values_offset = vo.offset; p.indices_offset = io.offset
        p.rows = UInt32(nrows); p.len = UInt32(len); p.op = largest ? EMBER_VK_ARGREDUCE_MAX : EMBER_VK_ARGREDUCE_MIN
        VulkanKernel.dispatch(EMBER_VK_KERNEL_ARGREDUCE_ROWS_F32, [xo, vo, io], p, groups: UInt64(nrows))
        if v !== values { copy(from: v, to: values) }
    }

    func softmax(_ x: Tensor, dim d: Int, log: Bool, into out: Tensor) {
        let last = Swift.max(x.ndim - 1, 0)
        let moved = x.ndim == 0 || d == last ? x : x.rawTranspose(d, last)
        let src = moved.rawContiguous()
        let direct = moved === x && out.isContiguous
        let res = direct ? out : Tensor(shape: src.shape, dtype: .float32, device: out.device, zeroed: false)
        let len = x.ndim == 0 ? 1 : x.shape[d]
        guard let so = VulkanOperand(src), let ro = VulkanOperand(res) else {
            return onHost([x], out) { h, o in CPUBackend.shared.softmax(h[0], dim: d, log: log, into: o) }
        }
        var p = EmberVkSoftmaxRowsF32Push()
        p.in_offset = so.offset; p.out_offset = ro.offset
        p.rows = UInt32(x.numel / Swift.max(len, 1)); p.len = UInt32(len); p.log_softmax = log ? 1 : 0
        VulkanKernel.dispatch(EMBER_VK_KERNEL_SOFTMAX_ROWS_F32, [so, ro], p, groups: UInt64(p.rows))
        if !direct { copy(from: moved === x ? res : res.rawTranspose(d, last), to: out) }
    }

    func matmul(_ a: Tensor, _ b: Tensor, into out: Tensor) {
        let kernel: Int
        switch a.dtype {
        case .float32: kernel = EMBER_VK_KERNEL_GEMM_F32
        case .float16: kernel = EMBER_VK_KERNEL_GEMM_F16
        default: return onHost([a, b], out) { h, o in CPUBackend.shared.matmul(h[0], h[1], into: o) }
        }
        let nd = out.ndim
        let m = out.shape[nd - 2], n = out.shape[nd - 1], k = a.shape[nd - 1]
        let batchShape = Array(out.shape.dropLast(2))
        let batch = batchShape.reduce(1, *)
        // One batch stride per operand: collapse the batch dims, or make the operands contiguous.
        var A = a, B = b
        var strideA = 0, strideB = 0
        if batch > 1 {
            let c = CollapsedLayout(shape: batchShape, strides: [Array(a.strides.dropLast(2)), Array(b.strides.dropLast(2))])
            if c.shape.count == 1 {
                strideA = c.strides[0][0]; strideB = c.strides[1][0]
            } else {
                A = a.rawContiguous(); B = b.rawContiguous()
                strideA = m * k; strideB = k * n
            }
        }
        let target = out.dtype == .float32 ? out : Tensor(shape: out.shape, dtype: .float32, device: out.device, zeroed: false)
        guard batch <= 65535, let ao = VulkanOperand(A), let bo = VulkanOperand(B), let co = VulkanOperand(target) else {
            return onHost([a, b], out) { h, o in CPUBackend.shared.matmul(h[0], h[1], into: o) }
        }
        var p = EmberVkGemmF32Push()
        p.m = UInt32(m); p.n = UInt32(n); p.k = UInt32(k)
        p.a_offset = ao.offset; p.b_offset = bo.offset; p.c_offset = co.offset
        p.a_batch_stride = UInt32(strideA); p.a_row_stride = UInt32(A.strides[nd - 2]); p.a_col_stride = UInt32(A.strides[nd - 1])
        p.b_batch_stride = UInt32(strideB); p.b_row_stride = UInt32(B.strides[nd - 2]); p.b_col_stride = UInt32(B.strides[nd - 1])
        p.alpha = 1; p.beta = 0
        let grid = (UInt32((n + 63) / 64), UInt32((m + 63) / 64), UInt32(batch))
        VulkanKernel.dispatch(kernel, [ao, bo, co], p, grid: grid)
        if target !== out { copy(from: target, to: out) }
    }

    func indexSelect(_ x: Tensor, dim: Int, index: Tensor, values: [Int], into out: Tensor) {
        guard dim == 0, x.ndim >= 1, x.isContiguous, out.isContiguous, x.dtype.itemSize == 4, index.dtype == .int64,
              let so = VulkanOperand(x), let io = VulkanOperand(index.rawContiguous()), let oo = VulkanOperand(out) else {
            return onHost([x, index], out) { h, o in CPUBackend.shared.indexSelect(h[0], dim: dim, index: h[1], values: values, into: o) }
        }
        var p = EmberVkIndexSelectRowsPush()
        p.src_offset = so.offset; p.idx_offset = io.offset; p.out_offset = oo.offset
        p.n_idx = UInt32(values.count); p.row_len = UInt32(x.numel / Swift.max(x.shape[0], 1)); p.src_rows = UInt32(x.shape[0])
        VulkanKernel.dispatch(EMBER_VK_KERNEL_INDEX_SELECT_ROWS, [so, io, oo], p, groups: VulkanKernel.groups(out.numel))
    }

    // MARK: Fast paths

    func addInPlace(_ y: Tensor, _ x: Tensor, alpha: Double) -> Bool {
        guard y.dtype == .float32, y.isContiguous, x.computesInFloat32,
              case .success(let s) = broadcastShapes(y.shape, x.shape), s == y.shape else { return false }
        var xf = x.float32OnDevice().rawExpand(y.shape)
        if alpha != 1 {
            let scaled = Tensor(shape: y.shape, dtype: .float32, device: y.device, zeroed: false)
            guard elementwise(EMBER_VK_KERNEL_BINARY_F32, EMBER_VK_BINARY_MUL, xf, xf, scaled, compare: false, scalar: Float(alpha)) else { return false }
            xf = scaled
        }
        return elementwise(EMBER_VK_KERNEL_BINARY_F32, EMBER_VK_BINARY_ADD, y, xf, y, compare: false)
    }

    func scaleInPlace(_ x: Tensor, by value: Double) -> Bool {
        guard x.dtype == .float32, x.isContiguous else { return false }
        return elementwise(EMBER_VK_KERNEL_BINARY_F32, EMBER_VK_BINARY_MUL, x, x, x, compare: false, scalar: Float(value))
    }

    func maskedFillInPlace(_ t: Tensor, mask: Tensor, value: Double) -> Bool {
        guard t.dtype == .float32, t.isContiguous else { return false }
        return where32(mask, a: t, scalar: Float(value), t, t)
    }

    func indexAddRows(_ t: Tensor, index: Tensor, values: [Int], source: Tensor) -> Bool {
        guard t.dtype == .float32, t.isContiguous, t.ndim >= 1, index.dtype == .int64, source.computesInFloat32 else { return false }
        let src = source.float32OnDevice().rawContiguous()
        guard let so = VulkanOperand(src), let io = VulkanOperand(index.rawContiguous()), let oo = VulkanOperand(t) else { return false }
        var p = EmberVkIndexAddRowsF32Push()
        p.src_offset = so.offset; p.idx_offset = io.offset; p.out_offset = oo.offset
        p.n_idx = UInt32(values.count); p.row_len = UInt32(t.numel / Swift.max(t.shape[0], 1)); p.out_rows = UInt32(t.shape[0])
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_INDEX_ADD_ROWS_F32, [so, io, oo], p, groups: VulkanKernel.groups(Int(p.row_len)))
    }

    func geluTanhBackward(_ x: Tensor, _ g: Tensor) -> Tensor? {
        guard x.dtype == .float32, g.dtype == .float32, x.shape == g.shape else { return nil }
        let out = Tensor(shape: x.shape, dtype: .float32, device: x.device, zeroed: false)
        return elementwise(EMBER_VK_KERNEL_BINARY_F32, EMBER_VK_BINARY_GELU_TANH_BACKWARD, x, g, out, compare: false) ? out : nil
    }

    func adam(_ p: Tensor, grad: Tensor, m: Tensor, v: Tensor, vMax: Tensor?, _ h: AdamStep) -> Bool {
        // The shader is AdamW's formula: decoupled decay, amsgrad and maximize off.
        guard h.decoupled, !h.maximize, vMax == nil, p.dtype == .float32, [p, grad, m, v].allSatisfy({ $0.isContiguous }),
              let po = VulkanOperand(p), let go = VulkanOperand(grad), let mo = VulkanOperand(m), let vo = VulkanOperand(v) else { return false }
        var k = EmberVkAdamwStepF32Push()
        k.p_offset = po.offset; k.g_offset = go.offset; k.m_offset = mo.offset; k.v_offset = vo.offset
        k.n = UInt32(p.numel); k.lr = Float(h.lr); k.beta1 = Float(h.beta1); k.beta2 = Float(h.beta2)
        k.eps = Float(h.eps); k.weight_decay = Float(h.weightDecay)
        k.bias_correction1 = Float(h.biasCorrection1); k.bias_correction2 = Float(h.biasCorrection2)
        return VulkanKernel.dispatch(EMBER_VK_KERNEL_ADAMW_STEP_F32, [po, go, mo, vo], k, groups: VulkanKernel.groups(p.numel))
    }

    // MARK: Op codes

    static func unaryCode(_ op: UnaryOp) -> UInt32? {
        switch op {
        case .neg: return EMBER_VK_UNARY_NEG
        case .abs: return EMBER_VK_UNARY_ABS
        case .exp: return EMBER_VK_UNARY_EXP
        case .log: return EMBER_VK_UNARY_LOG
        case .log1p: return EMBER_VK_UNARY_LOG1P
        case .expm1: return EMBER_VK_UNARY_EXPM1
        case .sqrt: return EMBER_VK_UNARY_SQRT
        case .rsqrt: return EMBER_VK_UNARY_RSQRT
        case .tanh: return EMBER_VK_UNARY_TANH
        case .sigmoid: return EMBER_VK_UNARY_SIGMOID
        case .relu: return EMBER_VK_UNARY_RELU
        case .geluTanh: return EMBER_VK_UNARY_GELU_TANH
        case .geluErf: return EMBER_VK_UNARY_GELU_ERF
        case .sin: return EMBER_VK_UNARY_SIN
        case .cos: return EMBER_VK_UNARY_COS
        case .erf: return EMBER_VK_UNARY_ERF
        case .square: return EMBER_VK_UNARY_SQUARE
        case .reciprocal: return EMBER_VK_UNARY_RECIPROCAL
        case .floor: return EMBER_VK_UNARY_FLOOR
        case .ceil: return EMBER_VK_UNARY_CEIL
        case .round: return EMBER_VK_UNARY_ROUND
        case .trunc: return EMBER_VK_UNARY_TRUNC
        case .sign: return EMBER_VK_UNARY_SIGN
        case .silu: return EMBER_VK_UNARY_SILU
        case .log2: return EMBER_VK_UNARY_LOG2
        case .log10: return EMBER_VK_UNARY_LOG10
        case .logicalNot, .bitwiseNot, .logSigmoid: return nil   // logSigmoid: the host computes it
        }
    }

    static func binaryCode(_ op: BinaryOp) -> UInt32? {
        switch op {
        case .add: return EMBER_VK_BINARY_ADD
        case .sub: return EMBER_VK_BINARY_SUB
        case .mul: return EMBER_VK_BINARY_MUL
        case .div: return EMBER_VK_BINARY_DIV
        case .pow: return EMBER_VK_BINARY_POW
        case .maximum: return EMBER_VK_BINARY_MAXIMUM
        case .minimum: return EMBER_VK_BINARY_MINIMUM
        case .atan2: return EMBER_VK_BINARY_ATAN2
        case .remainder: return EMBER_VK_BINARY_REMAINDER
        case .floorDivide: return EMBER_VK_BINARY_FLOOR_DIVIDE
        default: return nil
        }
    }

    /// Comparisons and logical ops; bitwise ops only for bool operands (where they are logical).
    static func compareCode(_ op: BinaryOp, boolOperands: Bool) -> UInt32? {
        switch op {
        case .eq: return EMBER_VK_COMPARE_EQ
        case .ne: return EMBER_VK_COMPARE_NE
        case .lt: return EMBER_VK_COMPARE_LT
        case .le: return EMBER_VK_COMPARE_LE
        case .gt: return EMBER_VK_COMPARE_GT
        case .ge: return EMBER_VK_COMPARE_GE
        case .logicalAnd: return EMBER_VK_COMPARE_LOGICAL_AND
        case .logicalOr: return EMBER_VK_COMPARE_LOGICAL_OR
        case .logicalXor: return EMBER_VK_COMPARE_LOGICAL_XOR
        case .bitwiseAnd where boolOperands: return EMBER_VK_COMPARE_LOGICAL_AND
        case .bitwiseOr where boolOperands: return EMBER_VK_COMPARE_LOGICAL_OR
        case .bitwiseXor where boolOperands: return EMBER_VK_COMPARE_LOGICAL_XOR
        default: return nil
        }
    }
}
#endif
