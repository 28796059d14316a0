import ArgumentParser
import Ember

/// `--device` of `ember train`, `ember generate` and `ember example`: PyTorch's device strings.
enum DeviceOption {
    /// The device named `name`, checked to be usable in this process.
    /// - Parameter allowMeta: whether `meta` (shapes only, no values) makes sense for the command.
    /// - Throws: `ValidationError` for a name that is not a device (or `meta` where values are
    ///   needed); ``DeviceUnavailable`` with the reason when the device cannot be used here.
    static func resolve(_ name: String, allowMeta: Bool = false) throws -> Device {
        let known = allowMeta ? "cpu, meta, vulkan:0" : "cpu, vulkan:0"
        guard let device = Device(name), allowMeta || device != .meta else {
            throw ValidationError("unknown device '\(name)'; known: \(known)")
        }
        if let reason = device.unavailableReason { throw DeviceUnavailable(device: device, reason: reason) }
        return device
    }
}

/// A device this process cannot compute on (no Vulkan loader or driver, or an index beyond 0).
struct DeviceUnavailable: Error, CustomStringConvertible {
    let device: Device
    let reason: String
    var description: String { "\(device) is not available: \(reason)" }
}
