import Foundation

/// A flat block of memory holding a tensor's elements, as `torch.UntypedStorage`.
///
/// Several tensors (views) may share one storage; an in-place op through any of them is visible
/// through all. Storage is a class with explicit ownership of its bytes (never a Swift array), so no
/// copy-on-write can happen behind a view's back. On the `meta` device it holds no bytes.
public final class Storage: @unchecked Sendable {
    /// Start of the bytes; nil on `meta` or when empty.
    public let data: UnsafeMutableRawPointer?
    /// Size in bytes.
    public let byteCount: Int
    public let device: Device
    /// Bumped by every in-place write; autograd compares it with the value recorded when a tensor was
    /// saved for backward (PyTorch's version counter).
    public internal(set) var version: Int = 0
    /// Keeps memory owned by someone else alive (a memory-mapped file, a backend buffer).
    public let owner: AnyObject?
    private let ownsMemory: Bool

    /// Allocates `byteCount` bytes on `device`, zero-filled when `zeroed`. On an accelerator the
    /// backend's memory object becomes ``owner`` and ``data`` stays nil. On a device that is not
    /// available this raises the reason (``Device/unavailableReason``) and holds no bytes.
    public init(byteCount: Int, device: Device = .cpu, zeroed: Bool = true) {
        self.byteCount = byteCount
        self.device = device
        if device != .cpu && device != .meta {
            if let reason = BackendRegistry.unavailableReason(device) {
                ErrorCapture.raise(EmberError(.runtime, "\(device) is not available: \(reason)"))
                owner = nil
            } else {
                owner = BackendRegistry.backend(for: device)?.allocate(byteCount: byteCount, zeroed: zeroed, device: device)
            }
            data = nil
            ownsMemory = false
            return
        }
        self.owner = nil
        if device == .cpu && byteCount > 0 {
            let p = CachingAllocator.allocate(byteCount)
            if zeroed { p.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount) }
            data = p
            ownsMemory = true
        } else {
            data = nil
            ownsMemory = false
        }
    }

    /// Wraps memory owned elsewhere (e.g. a memory-mapped file); `owner` is retained for the storage's
    /// lifetime and the memory is never freed by the storage.
    public init(borrowing data: UnsafeMutableRawPointer?, byteCount: Int, device: Device = .cpu, owner: AnyObject?) {
        self.data = data
        self.byteCount = byteCount
        self.device = device
        self.owner = owner
        self.ownsMemory = false
    }

    /// Copies `bytes` into a new CPU storage.
    public convenience init(bytes: UnsafeRawBufferPointer) {
        self.init(byteCount: bytes.count, device: .cpu, zeroed: false)
        if let d = data, let s = bytes.baseAddress, bytes.count > 0 { d.copyMemory(from: s, byteCount: bytes.count) }
    }

    deinit {
        if ownsMemory, let d = data { CachingAllocator.deallocate(d, byteCount: byteCount) }
    }

    /// Records an in-place write (PyTorch's version counter), for kernels outside EmberCore.
    public func bumpVersion() { version &+= 1 }
}
