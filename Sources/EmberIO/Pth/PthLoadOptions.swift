import Foundation

/// Where storages saved on another device go, like `torch.load(map_location=...)`.
/// Ember reads every storage into host memory; the tag only decides whether that is allowed.
public enum MapLocation: Sendable, Equatable {
    /// Keep the saved device: a storage tagged with anything but `cpu` is refused with an error that names
    /// the tag and says to pass `mapLocation` (torch's behaviour when that device is absent; bug case B09,
    /// docs/cases.md).
    case asSaved
    /// Load every storage to the CPU whatever its tag (`map_location="cpu"`).
    case cpu
    /// Per-tag mapping (`map_location={"cuda:0": "cpu"}`); tags missing from it behave like ``asSaved``.
    case mapping([String: String])

    /// The device tag a storage saved with `tag` loads to.
    /// - Throws: ``EmberIOError/Kind/deviceLocation`` when the result is not `cpu`.
    func resolve(_ tag: String, storageKey: String) throws -> String {
        var target = tag
        switch self {
        case .asSaved: break
        case .cpu: target = "cpu"
        case .mapping(let m): target = m[tag] ?? tag
        }
        guard target == "cpu" else {
            throw EmberIOError(.deviceLocation,
                "storage '\(storageKey)' was saved on device '\(tag)', which is not available; "
                + "load with mapLocation: .cpu (torch.load map_location) to put it on the CPU")
        }
        return target
    }
}

/// How ``PthCheckpoint/load(contentsOf:options:)`` reads a file.
public struct PthLoadOptions: Sendable {
    /// Reference STORED little-endian records in the memory-mapped file instead of copying them
    /// (`torch.load(mmap=True)`). Checksums of mapped records are not verified (that would read every page).
    public var mmap = false
    public var mapLocation: MapLocation = .asSaved
    public var limits = UnpicklerLimits()
    /// Verify each copied record's CRC-32 against the zip directory.
    public var verifyChecksums = true
    /// Keep values Ember cannot represent (e.g. complex64 tensors) as ``PickleValue/unsupported`` instead of
    /// throwing ``EmberIOError/Kind/unsupportedDType``.
    public var keepUnsupported = false
    /// Most bytes one load may allocate for records it inflates or copies, and the largest logical size
    /// (`numel × itemsize`) of any tensor in the file, so that an expanded (stride-0) view cannot promise
    /// more memory than this either. `nil` (the default) means ``defaultBudgetMultiple`` × the file's size
    /// plus ``defaultBudgetSlack`` bytes: generous for any real checkpoint (STORED records never exceed the
    /// file; deflated tensors compress little), small enough that a 1 KB file cannot claim terabytes.
    /// Exceeding it throws ``EmberIOError/Kind/limitExceeded`` before anything is allocated.
    public var memoryBudget: Int?
    public static let defaultBudgetMultiple = 16
    public static let defaultBudgetSlack = 64 << 20

    /// The budget for a file of `fileSize` bytes (``memoryBudget`` or the default).
    public func budget(forFileSize fileSize: Int) -> Int {
        if let memoryBudget { return memoryBudget }
        let (scaled, o1) = fileSize.multipliedReportingOverflow(by: Self.defaultBudgetMultiple)
        let (total, o2) = scaled.addingReportingOverflow(Self.defaultBudgetSlack)
        return o1 || o2 ? Int.max : total
    }

    public init(mmap: Bool = false, mapLocation: MapLocation = .asSaved) {
        self.mmap = mmap
        self.mapLocation = mapLocation
    }
}
