import EmberCore
import Foundation
import OrderedCollections

/// `torch.save` / `torch.load` for Ember tensors and state dicts, and safetensors files.
///
/// Loading never executes anything from the file (see ``PthCheckpoint``); every corrupt or hostile
/// file is refused with an ``EmberIOError``. Saving writes a temporary file in the same directory
/// and renames it, so an interrupted save leaves an earlier file intact.

/// `torch.load(path, weights_only=True, map_location=..., mmap=...)`: the saved object as a
/// ``StateValue`` tree (state dicts are `.dict` of `.tensor`).
///
/// - Parameters:
///   - mapLocation: `.cpu` loads storages saved on `cuda`/`mps` onto the CPU; the default refuses them
///     with an error naming the saved device, as PyTorch does when that device is absent.
///   - mmap: reference the file's bytes instead of copying them (copy-on-write; pair with
///     `loadStateDict(_:assign: true)`).
///   - device: the device the tensors are put on (`.cpu` default; `.meta` keeps shapes only). Each storage
///     is moved once, so tensors that shared memory in the file (tied weights, views) still share it
///     there; `requires_grad` and the Parameter flag are kept.
/// - Throws: ``EmberIOError`` for unreadable, corrupt or hostile files (``EmberIOError/Kind/limitExceeded``
///   when containers shared through the pickle memo would expand to more than 4,194,304 values), and
///   ``EmberIOError/Kind/deviceLocation`` when `device` has no backend in this build.
public func load(_ url: URL, mapLocation: MapLocation = .asSaved, mmap: Bool = false, device: Device = .cpu) throws -> StateValue {
    var options = PthLoadOptions(mmap: mmap, mapLocation: mapLocation)
    options.keepUnsupported = false
    let checkpoint = try PthCheckpoint.load(contentsOf: url, options: options)
    var bridge = RecordBridge(device: device)
    return try withFileContext(url.path) {
        // A StateValue is a tree: lists and dicts the pickle shares (memo references) become copies, so a
        // file whose sharing expands exponentially (hostile/memo_blowup.pth: 2^60 leaves) is refused first.
        var sizes: [ObjectIdentifier: Int] = [:]
        let size = RecordBridge.expandedSize(checkpoint.root, limit: RecordBridge.maxValues, cache: &sizes)
        guard size <= RecordBridge.maxValues else {
            throw EmberIOError(.limitExceeded, "the saved object expands to more than \(RecordBridge.maxValues) values "
                + "(containers shared through the pickle memo); not a state dict or checkpoint")
        }
        return try bridge.value(checkpoint.root, path: "")
    }
}

/// `load` from a path string.
public func load(_ path: String, mapLocation: MapLocation = .asSaved, mmap: Bool = false, device: Device = .cpu) throws -> StateValue {
    try load(URL(fileURLWithPath: path), mapLocation: mapLocation, mmap: mmap, device: device)
}

/// `torch.save(obj, path)`: writes a PyTorch zip checkpoint that `torch.load(path, weights_only=True)`
/// reads back to identical tensors. Tensors sharing storage are written once (tied weights stay
/// tied); non-CPU tensors are saved as CPU copies. String-keyed dicts of tensors are written as
/// `collections.OrderedDict`, as `state_dict()` returns them.
/// - Throws: ``EmberIOError`` when writing fails; the destination is then unchanged.
public func save(_ value: StateValue, to url: URL) throws {
    var bridge = RecordBridge()
    try PthWriter.save(bridge.pickle(value), to: url)
}
/// `save(_:to:)` to a path string.
public func save(_ value: StateValue, to path: String) throws { try save(value, to: URL(fileURLWithPath: path)) }

/// `torch.save(module.state_dict(), path)`: an `OrderedDict` of the tensors, in order.
/// - Throws: ``EmberIOError`` when writing fails; the destination is then unchanged.
public func save(_ stateDict: OrderedDictionary<String, Tensor>, to url: URL) throws { try save(.stateDict(stateDict), to: url) }
/// `save(_:to:)` of a state dict to a path string.
public func save(_ stateDict: OrderedDictionary<String, Tensor>, to path: String) throws { try save(.stateDict(stateDict), to: URL(fileURLWithPath: path)) }

/// Reads a `.safetensors` file (memory-mapped, zero-copy unless `mapped` is false) into an ordered
/// name → tensor dictionary plus its `__metadata__`. Every tensor is contiguous with its own storage;
/// a tensor whose bytes are not aligned to its item size in the file (headers need not be padded) is
/// copied even when `mapped`.
/// - Throws: ``EmberIOError`` for invalid headers, offsets, dtypes (U16/U32/U64/C64/F8 have no Ember
///   dtype) or sizes. Source: https://github.com/huggingface/safetensors (format).
/// - Parameter device: where the tensors are put (`.cpu` default; `.meta` keeps shapes only).
public func loadSafetensors(_ url: URL, mapped: Bool = true, device: Device = .cpu) throws
    -> (tensors: OrderedDictionary<String, Tensor>, metadata: OrderedDictionary<String, String>?) {
    let file = try SafetensorsFile.load(contentsOf: url, mapped: mapped)
    var bridge = RecordBridge(device: device)
    var out = OrderedDictionary<String, Tensor>()
    try withFileContext(url.path) {
        for (name, t) in file.tensors { out[name] = try bridge.tensor(t.tensorRecord(isMapped: mapped)) }
    }
    return (out, file.metadata)
}

/// Writes tensors to a `.safetensors` file (atomically), each contiguous, like `safetensors.torch.save_file`.
/// - Throws: ``EmberIOError/Kind/sharedMemory`` naming the pair when two tensors share a storage (tied
///   weights; the reference library refuses too, bug case B08, docs/cases.md),
///   ``EmberIOError/Kind/limitExceeded`` for a header over 100 MB (bug case B14, docs/cases.md),
///   ``EmberIOError/Kind/writeFailed``; the destination is then unchanged.
public func saveSafetensors(_ tensors: OrderedDictionary<String, Tensor>, metadata: OrderedDictionary<String, String>? = nil, to url: URL) throws {
    var bridge = RecordBridge()
    var records = OrderedDictionary<String, TensorRecord>()
    for (k, t) in tensors { records[k] = try bridge.record(t) }
    try SafetensorsWriter.save(records, metadata: metadata, to: url)
}

extension StateValue {
    /// A copy of the tree with `f` applied to every tensor.
    public func mapTensors(_ f: (Tensor) -> Tensor) -> StateValue {
        switch self {
        case .tensor(let t): return .tensor(f(t))
        case .list(let l): return .list(l.map { $0.mapTensors(f) })
        case .tuple(let l): return .tuple(l.map { $0.mapTensors(f) })
        case .dict(let d):
            var o = OrderedDictionary<StateKey, StateValue>()
            for (k, v) in d { o[k] = v.mapTensors(f) }
            return .dict(o)
        default: return self
        }
    }
}

/// Converts between EmberIO's file records and tensors, keeping shared storages shared.
///
/// The maps hold the key objects as well as the values: an `ObjectIdentifier` is only unique while its
/// object lives, and records made on the fly (one per safetensors tensor, CPU copies of device tensors)
/// would otherwise free their address for the next one and alias two unrelated tensors.
struct RecordBridge {
    /// Where loaded storages are put.
    var device: Device = .cpu
    var storages: [ObjectIdentifier: (record: StorageRecord, storage: Storage)] = [:]
    var records: [ObjectIdentifier: (storage: Storage, record: StorageRecord)] = [:]
    /// Device storage → its CPU copy, for saving (see ``hostView(_:)``).
    var hostStorages: [ObjectIdentifier: (device: Storage, host: Storage)] = [:]

    init(device: Device = .cpu) { self.device = device }

    /// Most values ``load(_:mapLocation:mmap:device:)`` builds (a GPT-2 checkpoint with optimizer state has a
    /// few thousand).
    static let maxValues = 1 << 22

    /// Values in `v` once shared containers are copied, computed once per container; saturates at `limit + 1`.
    static func expandedSize(_ v: PickleValue, limit: Int, cache: inout [ObjectIdentifier: Int]) -> Int {
        let id: ObjectIdentifier?
        switch v {
        case .list(let l): id = ObjectIdentifier(l)
        case .dict(let d): id = ObjectIdentifier(d)
        default: id = nil
        }
        if let id, let known = cache[id] { return known }
        var total = 1
        let children: [PickleValue] = v.dict.map { Array($0.items.values) } ?? v.elements ?? []
        for c in children where total <= limit { total = min(limit + 1, total + expandedSize(c, limit: limit, cache: &cache)) }
        if let id { cache[id] = total }
        return total
    }

    /// A `Data` this small may keep its bytes inline (in the value itself), so it has no stable address to
    /// borrow; such records are copied (swift-corelibs-foundation inlines up to 14 bytes).
    static let minBorrowedBytes = 64

    /// The tensor storage for a file record, made once per record (so ties survive) on ``device``.
    mutating func storage(_ r: StorageRecord) throws -> Storage {
        if let s = storages[ObjectIdentifier(r)] { return s.storage }
        var s: Storage
        let owner = r.isMapped && r.byteCount >= RecordBridge.minBorrowedBytes ? DataOwner(r.bytes) : nil
        if let host = r.hostStorage {
            s = host
        } else if let owner, owner.pointer.map({ Int(bitPattern: $0) % r.dtype.itemSize == 0 }) ?? false {
            // Borrow the mapped bytes; the Data (and its mapping) lives as long as the storage. Kernels
            // read elements through typed pointers, so a misaligned record is copied instead.
            s = Storage(borrowing: owner.pointer, byteCount: r.byteCount, device: .cpu, owner: owner)
        } else {
            s = r.bytes.withUnsafeBytes { Storage(bytes: $0) }
        }
        if device != .cpu {
            // Move the whole storage once (as a flat tensor), so every view of it lands on one storage.
            let flat = Tensor(storage: s, dtype: r.dtype, shape: [r.elementCount])
            let target = device
            do {
                s = try withErrorCapture { noGrad { flat.to(target) } }.storage
            } catch {
                throw EmberIOError(.deviceLocation, "cannot put storage '\(r.key)' on \(target): \(error)")
            }
        }
        storages[ObjectIdentifier(r)] = (r, s)
        return s
    }

    mutating func tensor(_ r: TensorRecord) throws -> Tensor {
        let t = Tensor(storage: try storage(r.storage), dtype: r.dtype, shape: r.shape, strides: r.strides,
                       storageOffset: r.storageOffset)
        if r.requiresGrad && t.isFloatingPoint { t.requiresGrad = true }
        t.isParameter = r.isParameter
        return t
    }

    mutating func value(_ v: PickleValue, path: String) throws -> StateValue {
        switch v {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int(i))
        case .float(let d): return .double(d)
        case .string(let s): return .string(s)
        case .tensor(let r): return .tensor(try tensor(r))
        case .tuple(let items): return .tuple(try items.enumerated().map { try value($1, path: "\(path)/\($0)") })
        case .list(let l): return .list(try l.items.enumerated().map { try value($1, path: "\(path)/\($0)") })
        case .dict(let d):
            var o = OrderedDictionary<StateKey, StateValue>()
            for (k, item) in d.items {
                let key: StateKey
                switch k {
                case .string(let s): key = .string(s)
                case .int(let i): key = .int(Int(i))
                default: key = .string(k.description)
                }
                o[key] = try value(item, path: "\(path)/\(key)")
            }
            return .dict(o)
        case .bytes(let data): return .string(String(decoding: data, as: UTF8.self))
        case .global(let m, let n): return .string("\(m).\(n)")
        case .storage:
            throw EmberIOError(.malformedPickle, "a bare storage at '\(path)' is not supported; save tensors instead")
        case .unsupported(let what):
            throw EmberIOError(.unsupportedDType, "'\(path)': \(what)")
        }
    }

    /// A file record for a tensor (CPU bytes of its whole storage, so views stay views).
    mutating func record(_ t: Tensor) throws -> TensorRecord {
        guard !t.isMeta else { throw EmberIOError(.writeFailed, "cannot save a tensor on the meta device: it has no data") }
        let cpu = t.device == .cpu ? t : try hostView(t)
        let s = cpu.storage
        let rec: StorageRecord
        if let r = records[ObjectIdentifier(s)]?.record {
            // One storage is one record of one dtype in a .pth (torch's typed-storage persistent id).
            guard r.dtype == cpu.dtype else {
                throw EmberIOError(.writeFailed,
                    "two tensors view one storage as \(r.dtype) and \(cpu.dtype): a .pth storage has one dtype; save a copy of one")
            }
            rec = r
        } else {
            // The storage's bytes without a copy: the record lives only for this save, and the Data keeps the
            // storage alive.
            let bytes = s.data.map { p in
                Data(bytesNoCopy: p, count: s.byteCount, deallocator: .custom { _, _ in withExtendedLifetime(s) {} })
            } ?? Data()
            rec = try StorageRecord(key: String(records.count), dtype: cpu.dtype, elementCount: s.byteCount / cpu.dtype.itemSize, bytes: bytes)
            records[ObjectIdentifier(s)] = (s, rec)
        }
        return try TensorRecord(storage: rec, shape: cpu.shape, strides: cpu.strides, storageOffset: cpu.storageOffset,
                                requiresGrad: t.requiresGrad, isParameter: t.isParameter)
    }

    /// The same view of a CPU copy of a device tensor's whole storage, copied once per storage: tensors
    /// sharing memory on an accelerator (tied weights, views) are saved sharing it, as from the CPU.
    /// Device storages have no host pointer (`Storage.data` is nil), so their bytes come through `to(.cpu)`.
    mutating func hostView(_ t: Tensor) throws -> Tensor {
        let s = t.storage
        let host: Storage
        if let known = hostStorages[ObjectIdentifier(s)] {
            host = known.host
        } else {
            let flat = Tensor(storage: s, dtype: t.dtype, shape: [s.byteCount / t.dtype.itemSize])
            do {
                host = try withErrorCapture { noGrad { flat.to(.cpu) } }.storage
            } catch {
                throw EmberIOError(.writeFailed, "cannot copy a tensor on \(t.device) to the CPU for saving: \(error)")
            }
            hostStorages[ObjectIdentifier(s)] = (s, host)
        }
        return Tensor(storage: host, dtype: t.dtype, shape: t.shape, strides: t.strides, storageOffset: t.storageOffset)
    }

    mutating func pickle(_ v: StateValue) throws -> PickleValue {
        switch v {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(Int64(i))
        case .double(let d): return .float(d)
        case .string(let s): return .string(s)
        case .tensor(let t): return .tensor(try record(t))
        case .list(let l): return .list(PickleList(try l.map { try pickle($0) }))
        case .tuple(let l): return .tuple(try l.map { try pickle($0) })
        case .dict(let d):
            // A dict whose values are all tensors is a state dict: OrderedDict, as PyTorch writes it.
            let isStateDict = !d.isEmpty && d.values.allSatisfy { $0.tensor != nil }
            let out = PickleDict(isOrdered: isStateDict)
            for (k, item) in d {
                let key: PickleKey
                switch k {
                case .string(let s): key = .string(s)
                case .int(let i): key = .int(Int64(i))
                }
                out.items[key] = try pickle(item)
            }
            return .dict(out)
        }
    }
}

/// Keeps a `Data` alive and exposes its base address (stable for the Data's lifetime).
final class DataOwner: @unchecked Sendable {
    let data: Data
    let pointer: UnsafeMutableRawPointer?
    init(_ data: Data) {
        self.data = data
        pointer = self.data.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
    }
}
