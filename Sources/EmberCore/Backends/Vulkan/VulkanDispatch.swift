#if canImport(CEmberVulkan)
import CEmberVulkan

/// How one tensor operand is bound to a kernel: the buffer, the window of it that is bound (whole
/// buffer unless it exceeds the device's `maxStorageBufferRange`), and the tensor's element offset
/// inside that window (the kernels' `*_offset` push constants).
struct VulkanOperand {
    let buffer: VulkanBuffer
    let byteOffset: UInt64
    let byteRange: UInt64
    let offset: UInt32

    /// Nil when the tensor has no Vulkan memory or its extent cannot be bound in one window.
    init?(_ t: Tensor) {
        guard let buf = t.storage.owner as? VulkanBuffer else { return nil }
        let item = t.dtype.itemSize
        var lo = t.storageOffset, hi = t.storageOffset
        for d in 0..<t.ndim where t.shape[d] > 1 {
            let e = (t.shape[d] - 1) * t.strides[d]
            if e > 0 { hi += e } else { lo += e }
        }
        let maxBinding = Int(ember_vk_max_binding_bytes())
        if buf.byteCount <= maxBinding {
            guard t.storageOffset <= Int(UInt32.max) else { return nil }
            buffer = buf; byteOffset = 0; byteRange = UInt64(buf.byteCount); offset = UInt32(t.storageOffset)
            return
        }
        // A window around the elements the tensor touches, starting on the required alignment.
        let align = Swift.max(Int(ember_vk_binding_offset_alignment()), item)
        let start = (lo * item) / align * align
        let end = Swift.min(buf.byteCount, ((hi + 1) * item + 3) / 4 * 4)
        guard end - start <= maxBinding, (t.storageOffset * item - start) % item == 0 else { return nil }
        buffer = buf
        byteOffset = UInt64(start)
        byteRange = UInt64(end - start)
        offset = UInt32((t.storageOffset * item - start) / item)
    }
}

enum VulkanKernel {
    /// Records `kernel` over `operands` (bindings 0, 1, ... in order) with `push` as its push
    /// constants: a linear grid of `groups` workgroups, or an explicit 3-D grid for the GEMMs.
    /// Returns false (and raises the runtime's message) when recording failed.
    @discardableResult
    static func dispatch<P>(_ kernel: Int, _ operands: [VulkanOperand], _ push: P,
                            groups: UInt64? = nil, grid: (UInt32, UInt32, UInt32)? = nil) -> Bool {
        var handles: [OpaquePointer?] = operands.map { $0.buffer.handle }
        var offsets = operands.map { $0.byteOffset }
        var ranges = operands.map { $0.byteRange }
        var p = push
        let rc: Int32 = withUnsafeBytes(of: &p) { raw in
            if let grid {
                return ember_vk_dispatch_ranges(Int32(kernel), &handles, &offsets, &ranges, Int32(handles.count),
                                                raw.baseAddress, UInt32(raw.count), grid.0, grid.1, grid.2)
            }
            // Linear grids of kernels indexed by linear_id(): the runtime splits them over x and y;
            // bound windows are passed through the ranged entry point when any is partial.
            if operands.allSatisfy({ $0.byteOffset == 0 && $0.byteRange == UInt64($0.buffer.byteCount) }) {
                return ember_vk_dispatch_linear(Int32(kernel), &handles, &offsets, Int32(handles.count),
                                                raw.baseAddress, UInt32(raw.count), groups ?? 1)
            }
            let g = groups ?? 1
            let x = UInt32(Swift.min(g, 65535)), y = UInt32((g + 65534) / 65535)
            return ember_vk_dispatch_ranges(Int32(kernel), &handles, &offsets, &ranges, Int32(handles.count),
                                            raw.baseAddress, UInt32(raw.count), x, y, 1)
        }
        if rc != 0 { _ = raiseError("vulkan: \(VulkanRuntime.lastError)") }
        return rc == 0
    }

    /// Workgroups for `n` elements of a kernel with `localSize` invocations per group.
    static func groups(_ n: Int, localSize: Int = 256) -> UInt64 { UInt64((n + localSize - 1) / localSize) }
}

/// Writes `values` (at most 6) into a C `T[6]` field imported as a tuple.
func setSix<T>(_ tuple: inout (T, T, T, T, T, T), _ values: [T]) {
    withUnsafeMutableBytes(of: &tuple) { raw in
        let p = raw.baseAddress!.assumingMemoryBound(to: T.self)
        for (i, v) in values.prefix(6).enumerated() { p[i] = v }
    }
}

/// A collapsed layout of `n` operands over `shape` in the kernels' 6-dim, 32-bit form; nil when it
/// needs more dims or larger strides (the caller then makes operands contiguous or uses the host).
struct VulkanLayout {
    let ndim: UInt32
    let shape: [UInt32]
    let strides: [[Int32]]

    init?(shape: [Int], strides: [[Int]]) {
        let c = CollapsedLayout(shape: shape, strides: strides)
        guard c.shape.count <= 6, c.shape.allSatisfy({ $0 <= Int(UInt32.max) }),
              c.strides.allSatisfy({ $0.allSatisfy { abs($0) <= Int(Int32.max) } }) else { return nil }
        ndim = UInt32(c.shape.count)
        self.shape = c.shape.map { UInt32($0) }
        self.strides = c.strides.map { $0.map { Int32($0) } }
    }
}
#endif
