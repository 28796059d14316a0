import Foundation

/// How tensors print: the options of `torch.set_printoptions`.
///
/// - ``precision``: digits after the decimal point for floating values (PyTorch default 4).
/// - ``sciMode``: `true` forces scientific notation, `false` forbids it, `nil` lets the formatter
///   choose (see ``formatTensor(_:options:)``).
/// - ``threshold``: a tensor with more than this many elements is summarised with `...`
///   (default 1000; ``Int/max`` never summarises, PyTorch's `threshold=inf`).
/// - ``edgeitems``: items kept at the start and end of each summarised dimension (default 3).
///   `0` prints `[...]` for a summarised tensor and adds a `size=` suffix to every tensor.
/// - ``linewidth``: characters per line before the last dimension wraps (default 80).
///
/// Source: `torch.set_printoptions`, https://pytorch.org/docs/stable/generated/torch.set_printoptions.html
/// and `torch/_tensor_str.py` (`__PrinterOptions`).
public struct PrintOptions: Sendable, Equatable {
    public var precision: Int
    public var sciMode: Bool?
    public var threshold: Int
    public var edgeitems: Int
    public var linewidth: Int

    /// Creates options; every argument defaults to PyTorch's default profile.
    public init(precision: Int = 4, sciMode: Bool? = nil, threshold: Int = 1000,
                edgeitems: Int = 3, linewidth: Int = 80) {
        self.precision = precision
        self.sciMode = sciMode
        self.threshold = threshold
        self.edgeitems = edgeitems
        self.linewidth = linewidth
    }

    /// PyTorch's defaults: precision 4, threshold 1000, edgeitems 3, linewidth 80, automatic sci mode.
    public static let `default` = PrintOptions()

    /// The options of a named profile, as `torch.set_printoptions(profile:)`.
    public init(profile: PrintProfile) {
        switch profile {
        case .default: self.init()
        case .short: self.init(precision: 2, edgeitems: 2)
        case .full: self.init(threshold: .max)
        }
    }

    /// The process-wide options that ``setPrintOptions(profile:precision:sciMode:threshold:edgeitems:linewidth:)``
    /// sets. Reading is thread-safe; read it once per print so that one tensor is printed with one set.
    public static var current: PrintOptions { globalPrintOptions.get() }
}

/// The named profiles of `torch.set_printoptions(profile=...)`.
public enum PrintProfile: String, Sendable, CaseIterable {
    /// precision 4, threshold 1000, edgeitems 3, linewidth 80.
    case `default`
    /// precision 2, threshold 1000, edgeitems 2, linewidth 80.
    case short
    /// precision 4, never summarised, edgeitems 3, linewidth 80.
    case full
}

/// Sets the process-wide print options, as `torch.set_printoptions`.
///
/// A `profile` is applied first, then each non-nil argument overrides it. As in PyTorch, `sciMode`
/// is always assigned: calling this without `sciMode` returns scientific notation to automatic
/// (`torch.set_printoptions(precision=2)` does the same). Thread-safe.
///
/// - Parameters:
///   - profile: `.default`, `.short` or `.full`; nil keeps the current values.
///   - precision: digits after the decimal point (≥ 0).
///   - sciMode: `true`/`false` to force scientific notation on/off, nil for automatic.
///   - threshold: summarise tensors with more elements than this; `Int.max` never summarises.
///   - edgeitems: items kept at each end of a summarised dimension (≥ 0).
///   - linewidth: characters per line.
public func setPrintOptions(profile: PrintProfile? = nil, precision: Int? = nil, sciMode: Bool? = nil,
                            threshold: Int? = nil, edgeitems: Int? = nil, linewidth: Int? = nil) {
    precondition(precision.map { $0 >= 0 } ?? true, "setPrintOptions: precision must be >= 0")
    precondition(edgeitems.map { $0 >= 0 } ?? true, "setPrintOptions: edgeitems must be >= 0")
    globalPrintOptions.update { options in
        if let profile { options = PrintOptions(profile: profile) }
        if let precision { options.precision = precision }
        if let threshold { options.threshold = threshold }
        if let edgeitems { options.edgeitems = edgeitems }
        if let linewidth { options.linewidth = linewidth }
        options.sciMode = sciMode
    }
}

/// The lock-protected global behind ``PrintOptions/current``. `Mutex` needs macOS 15, the package
/// targets macOS 14, so an `NSLock` guards a plain value.
private final class PrintOptionsStore: @unchecked Sendable {
    private let lock = NSLock()
    private var options = PrintOptions.default

    func get() -> PrintOptions {
        lock.lock()
        defer { lock.unlock() }
        return options
    }

    func update(_ body: (inout PrintOptions) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&options)
    }
}

private let globalPrintOptions = PrintOptionsStore()
