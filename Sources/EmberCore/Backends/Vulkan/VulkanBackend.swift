#if canImport(CEmberVulkan)
import CEmberVulkan
#endif

/// The `vulkan:0` device's ``Backend``: storages in Vulkan device memory, kernels as SPIR-V compute
/// shaders (Sources/CEmberVulkan/shaders), recorded asynchronously and submitted in batches by the
/// C runtime; a CPU read (`item`, printing, `to(.cpu)`) is the synchronisation point.
///
/// Native kernels compute float32 (half types round through float32, as on the CPU); ops on other
/// dtypes (int64 arithmetic, float64) and the rarer kernels take the ``Backend`` host fallback.
final class VulkanBackend: Backend {
    static let shared = VulkanBackend()

    /// The backend for `vulkan:index`, or nil when it is unavailable.
    static func backend(index: Int) -> Backend? { unavailableReason(index: index) == nil ? shared : nil }

    /// Why `vulkan:index` cannot be used, or nil. Starting Vulkan happens here, on first use.
    static func unavailableReason(index: Int) -> String? {
        if let e = VulkanRuntime.startupError { return e }
        if index != 0 {
            return "this process drives one Vulkan device, vulkan:0 (\(VulkanRuntime.deviceName)); choose the physical device with EMBER_VULKAN_DEVICE"
        }
        return nil
    }

    // MARK: Memory

    func allocate(byteCount: Int, zeroed: Bool, device: Device) -> AnyObject? {
        VulkanBuffer(byteCount: byteCount, zeroed: zeroed)
    }

    func upload(_ bytes: UnsafeRawPointer, byteCount: Int, to storage: Storage, byteOffset: Int) {
        #if canImport(CEmberVulkan)
        guard byteCount > 0, let b = storage.owner as? VulkanBuffer else { return }
        if ember_vk_write(b.handle, byteOffset, bytes, byteCount) != 0 { _ = raiseError("vulkan: \(VulkanRuntime.lastError)") }
        #endif
    }

    func download(_ storage: Storage, byteOffset: Int, byteCount: Int, into bytes: UnsafeMutableRawPointer) {
        #if canImport(CEmberVulkan)
        guard byteCount > 0, let b = storage.owner as? VulkanBuffer else { return }
        if ember_vk_read(b.handle, byteOffset, bytes, byteCount) != 0 { _ = raiseError("vulkan: \(VulkanRuntime.lastError)") }
        #endif
    }

    // MARK: Copies and fills

    func copy(from src: Tensor, to dst: Tensor) {
        #if canImport(CEmberVulkan)
        if let sc = Self.code(src.dtype), let dc = Self.code(dst.dtype),
           let layout = VulkanLayout(shape: dst.shape, strides: [src.strides, dst.strides]),
           let s = VulkanOperand(src), let d = VulkanOperand(dst) {
            var p = EmberVkCopyStridedPush()
            p.ndim = layout.ndim; p.n = UInt32(dst.numel)
            p.src_offset = s.offset; p.dst_offset = d.offset
            p.src_dtype = sc; p.dst_dtype = dc
            setSix(&p.shape, layout.shape); setSix(&p.src_strides, layout.strides[0]); setSix(&p.dst_strides, layout.strides[1])
            VulkanKernel.dispatch(EMBER_VK_KERNEL_COPY_STRIDED, [s, d], p, groups: VulkanKernel.groups(dst.numel))
            return
        }
        #endif
        // A dtype the kernels do not store (float64, int16, int8): edit the whole storage on the host.
        let hs = hostMirror(src), hd = hostMirror(dst)
        cpuCopy(from: hs, to: hd)
        upload(hd.storage.data!, byteCount: hd.storage.byteCount, to: dst.storage, byteOffset: 0)
    }

    func fill(_ t: Tensor, with value: Double) {
        #if canImport(CEmberVulkan)
        if let c = Self.code(t.dtype), let o = VulkanOperand(t) {
            if t.isContiguous {
                var p = EmberVkFillPush()
                p.offset = o.offset; p.n = UInt32(t.numel); p.dtype = c; p.value = Float(value)
                let i = t.dtype.isFloatingPoint ? 0 : (t.dtype == .bool ? (value != 0 ? 1 : 0) : truncatingToInt64(value))
                p.int_lo = UInt32(truncatingIfNeeded: i); p.int_hi = UInt32(truncatingIfNeeded: i >> 32)
                VulkanKernel.dispatch(EMBER_VK_KERNEL_FILL, [o], p, groups: VulkanKernel.groups(t.numel))
                return
            }
            // A strided view: fill one element, then broadcast it with the strided copy.
            let one = Tensor(shape: [], dtype: t.dtype, device: t.device, zeroed: false)
            fill(one, with: value)
            copy(from: one.rawExpand(t.shape), to: t)
            return
        }
        #endif
        let h = hostMirror(t)
        CPUBackend.shared.fill(h, with: value)
        upload(h.storage.data!, byteCount: h.storage.byteCount, to: t.storage, byteOffset: 0)
    }

    /// A CPU tensor over a host copy of `t`'s whole storage, with `t`'s layout.
    private func hostMirror(_ t: Tensor) -> Tensor {
        let s = Storage(byteCount: t.storage.byteCount, device: .cpu, zeroed: false)
        download(t.storage, byteOffset: 0, byteCount: t.storage.byteCount, into: s.data!)
        return Tensor(storage: s, shape: t.shape, strides: t.strides, storageOffset: t.storageOffset, dtype: t.dtype)
    }

    /// The kernels' dtype code, or nil for dtypes they do not store.
    static func code(_ dt: DType) -> UInt32? {
        #if canImport(CEmberVulkan)
        switch dt {
        case .float32: return EMBER_VK_DTYPE_F32
        case .int64: return EMBER_VK_DTYPE_I64
        case .bool: return EMBER_VK_DTYPE_BOOL
        case .float16: return EMBER_VK_DTYPE_F16
        case .bfloat16: return EMBER_VK_DTYPE_BF16
        case .int32: return EMBER_VK_DTYPE_I32
        case .uint8: return EMBER_VK_DTYPE_U8
        default: return nil
        }
        #else
        return nil
        #endif
    }
}

// MARK: - float32 helpers

extension Tensor {
    /// Self as float32 on its device: self when it already is, else a converted contiguous copy.
    /// Half types and integers round-trip exactly (float32 holds every float16/bfloat16 value).
    func float32OnDevice() -> Tensor { dtype == .float32 ? self : rawCast(.float32) }

    /// Whether the Vulkan kernels compute this dtype in float32 (PyTorch's half types included).
    var computesInFloat32: Bool { dtype == .float32 || dtype == .float16 || dtype == .bfloat16 }
}
