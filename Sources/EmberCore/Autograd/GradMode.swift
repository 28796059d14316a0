/// Whether operations record the autograd graph (`torch.is_grad_enabled()`).
///
/// Ember's graph recording is per process, not per thread (Ember runs tensor code on one thread and
/// parallelises inside kernels).
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    static func set(_ on: Bool) { isEnabled = on }
}

/// Runs `body` without recording autograd history, as `with torch.no_grad():`.
@discardableResult
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.isEnabled
    GradMode.set(false)
    defer { GradMode.set(previous) }
    return try body()
}

/// Runs `body` with autograd recording on, as `with torch.enable_grad():`.
@discardableResult
public func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
    let previous = GradMode.isEnabled
    GradMode.set(true)
    defer { GradMode.set(previous) }
    return try body()
}

/// `torch.set_grad_enabled(mode)`.
public func setGradEnabled(_ on: Bool) { GradMode.set(on) }
