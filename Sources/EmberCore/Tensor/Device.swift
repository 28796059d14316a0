/// Where a tensor's storage lives, as `torch.device`.
///
/// - ``cpu``: host memory, computed by the CPU backend.
/// - ``meta``: shape and dtype only, no data (PyTorch's meta device). Ops propagate shapes;
///   an op that needs values (`item()`, printing values, copying to CPU) raises an error.
/// - ``cuda(_:)``: parsed and printed so that files and messages naming CUDA round-trip; no backend
///   computes on it yet, so creating a tensor there raises an error.
/// - ``vulkan(_:)``: an accelerator device; available when a Vulkan backend is registered.
///
/// String forms follow PyTorch: `"cpu"`, `"meta"`, `"cuda:0"`, `"vulkan:0"`.
public enum Device: Hashable, Sendable, CustomStringConvertible {
    case cpu
    case meta
    case cuda(Int)
    case vulkan(Int)

    /// The default accelerator index form: `.vulkan` means `vulkan:0`.
    public static var vulkan: Device { .vulkan(0) }
    public static var cuda: Device { .cuda(0) }

    public var type: String {
        switch self {
        case .cpu: return "cpu"
        case .meta: return "meta"
        case .cuda: return "cuda"
        case .vulkan: return "vulkan"
        }
    }

    public var index: Int? {
        switch self {
        case .cpu, .meta: return nil
        case .cuda(let i), .vulkan(let i): return i
        }
    }

    /// Where factories build values before moving them: the CPU, or `meta` for `meta`.
    var hostOrMeta: Device { self == .meta ? .meta : .cpu }

    public var description: String {
        if let i = index { return "\(type):\(i)" }
        return type
    }

    /// Parses PyTorch's device strings: "cpu", "meta", "cuda", "cuda:1", "vulkan:0".
    public init?(_ string: String) {
        let parts = string.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        var idx = 0
        if parts.count == 2 {
            guard let i = Int(parts[1]), i >= 0 else { return nil }
            idx = i
        }
        switch parts[0] {
        case "cpu": if parts.count == 2 && idx != 0 { return nil }; self = .cpu
        case "meta": if parts.count == 2 { return nil }; self = .meta
        case "cuda": self = .cuda(idx)
        case "vulkan": self = .vulkan(idx)
        default: return nil
        }
    }
}
