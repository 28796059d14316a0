#if canImport(CEmberVulkan)
import CEmberVulkan
#endif

/// Swift face of the C runtime in `CEmberVulkan`: start-up, buffers, transfers and dispatches.
/// The C side loads `libvulkan.so.1` at run time, records dispatches into a command buffer and
/// submits at sync points (one fence per submission), all behind one lock.
enum VulkanRuntime {
    /// Nil when `vulkan:0` is ready; otherwise why not (no loader, no device, built without
    /// Vulkan headers, a missing feature).
    static let startupError: String? = {
        #if canImport(CEmberVulkan)
        var err = [CChar](repeating: 0, count: 1024)
        let rc = ember_vk_init(&err, err.count)
        return rc == 0 ? nil : nulTerminatedString(err)
        #else
        return "Ember was built without its Vulkan runtime"
        #endif
    }()

    /// The device's name as the driver reports it (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    static var deviceName: String {
        #if canImport(CEmberVulkan)
        guard startupError == nil, let p = ember_vk_device_name() else { return "none" }
        return String(cString: p)
        #else
        return "none"
        #endif
    }

    /// The C runtime's last error message.
    static var lastError: String {
        #if canImport(CEmberVulkan)
        guard let p = ember_vk_last_error() else { return "unknown Vulkan error" }
        return String(cString: p)
        #else
        return "Ember was built without its Vulkan runtime"
        #endif
    }

    /// Validation-layer messages seen so far (EMBER_VULKAN_VALIDATION=1), and the last one.
    static var validationMessageCount: UInt64 {
        #if canImport(CEmberVulkan)
        return ember_vk_validation_message_count()
        #else
        return 0
        #endif
    }
    static var lastValidationMessage: String? {
        #if canImport(CEmberVulkan)
        guard let p = ember_vk_last_validation_message() else { return nil }
        return String(cString: p)
        #else
        return nil
        #endif
    }

    /// Waits until every recorded dispatch has run.
    static func synchronize() {
        #if canImport(CEmberVulkan)
        if startupError == nil, ember_vk_synchronize() != 0 { _ = raiseError("vulkan: \(lastError)") }
        #endif
    }
}

/// Device memory behind one ``Storage`` on `vulkan:0`. Released with the storage; the C runtime
/// defers the free until recorded work that uses it has completed.
final class VulkanBuffer: @unchecked Sendable {
    let handle: OpaquePointer
    let byteCount: Int

    init?(byteCount: Int, zeroed: Bool) {
        #if canImport(CEmberVulkan)
        var err = [CChar](repeating: 0, count: 512)
        guard let h = ember_vk_buffer_create(byteCount, zeroed ? 1 : 0, &err, err.count) else {
            _ = raiseError("vulkan:0 could not allocate \(byteCount) bytes: \(nulTerminatedString(err))")
            return nil
        }
        handle = h
        self.byteCount = byteCount
        #else
        return nil
        #endif
    }

    deinit {
        #if canImport(CEmberVulkan)
        ember_vk_buffer_release(handle)
        #endif
    }
}

/// The UTF-8 text before the first NUL of a C error buffer the runtime filled (`String(cString:)` on
/// an array is deprecated).
private func nulTerminatedString(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
