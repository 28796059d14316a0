import EmberCore
import Foundation
import OrderedCollections

/// A PyTorch checkpoint (`torch.save` output) read without executing anything.
///
/// Reads the zip format of torch ≥ 1.6 (any top folder name, STORED or DEFLATED records, `byteorder`
/// little or big) and the legacy non-zip format. `root` is the saved object: usually a state dict
/// (``PickleDict`` with `isOrdered` and `_metadata`), a dict of those (model + optimizer), or a bare tensor.
/// Tensors that shared a storage share one ``StorageRecord``.
/// Source: torch/serialization.py (`torch.load(weights_only=True)`), PyTorch 2.x.
public struct PthCheckpoint: @unchecked Sendable {
    public enum Format: Sendable, Equatable {
        /// Zip archive; `prefix` is the top folder (`model/`, or `archive/` when saved to a buffer).
        case zip(prefix: String)
        case legacy
    }

    public let root: PickleValue
    public let format: Format
    /// True when the storages were stored big-endian (and were byte-swapped on load).
    public let wasBigEndian: Bool

    /// Reads a `.pth` file.
    /// - Throws: ``EmberIOError`` (with `file` set) for any damaged, hostile or unsupported file: truncated or
    ///   empty files, forbidden globals or opcodes, missing or mis-sized records, tensors outside their
    ///   storage, unknown byte order, non-CPU device tags without `mapLocation`, nesting or memo limits.
    public static func load(contentsOf url: URL, options: PthLoadOptions = PthLoadOptions()) throws -> PthCheckpoint {
        let path = url.path
        return try withFileContext(path) {
            let file = try MappedFile(path: path)
            guard file.count > 0 else { throw EmberIOError(.emptyFile, "empty file (0 bytes): not a checkpoint") }
            let buf = file.buffer
            let checkpoint: PthCheckpoint
            do {
                if buf.count >= 4, buf[0] == 0x50, buf[1] == 0x4B {
                    checkpoint = try loadZip(file, options, budget: LoadBudget(limit: options.budget(forFileSize: file.count)))
                } else if LegacyPthReader.looksLegacy(buf) {
                    checkpoint = try LegacyPthReader(file: file, options: options).load()
                } else {
                    throw EmberIOError(.notACheckpoint, "neither a zip archive nor a legacy torch.save file")
                }
            } catch let e as EmberIOError {
                throw e
            } catch {
                throw EmberIOError(.malformedZip, "unreadable record: \(error)")
            }
            try file.checkUnchanged()
            let budget = LoadBudget(limit: options.budget(forFileSize: file.count))
            for (p, t) in checkpoint.tensors() { try budget.checkLogical(t, path: p) }
            if !options.keepUnsupported, let (p, what) = checkpoint.firstUnsupported() {
                throw EmberIOError(.unsupportedDType, "\(p.isEmpty ? "the saved object" : "key \(p)"): \(what) is not supported by Ember")
            }
            return checkpoint
        }
    }

    private static func loadZip(_ file: MappedFile, _ options: PthLoadOptions, budget: LoadBudget) throws -> PthCheckpoint {
        var zip = try ZipArchiveReader(file: file)
        zip.budget = budget
        let pickles = zip.order.filter { name in
            guard name.hasSuffix("data.pkl") else { return false }
            let folder = name.dropLast("data.pkl".count)
            return folder.isEmpty || (folder.hasSuffix("/") && folder.dropLast().firstIndex(of: "/") == nil)
        }
        guard pickles.count == 1, let pkl = pickles.first, let pklEntry = zip.entries[pkl] else {
            throw EmberIOError(pickles.isEmpty ? .notACheckpoint : .malformedZip,
                pickles.isEmpty ? "not a torch.save archive: no data.pkl" : "several data.pkl records: \(pickles)")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        var bigEndian = false
        if let e = zip.entries[prefix + "byteorder"] {
            guard e.uncompressedSize <= 16 else { throw EmberIOError(.unknownByteOrder, "byteorder record too long") }
            let order = String(decoding: try zip.read(e), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            switch order {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw EmberIOError(.unknownByteOrder, "unknown byte order '\(order)' (expected 'little' or 'big')")
            }
        }
        var cache: [String: StorageRecord] = [:]
        let resolve: (PersistentStorageID) throws -> PickleValue = { id in
            try checkStorageKey(id.key)
            _ = try options.mapLocation.resolve(id.location, storageKey: id.key) // throws for unmapped devices
            let dtype = PickleAllowlist.supportedStorage(id.typeName)!
            if let known = cache[id.key] {
                guard known.dtype == dtype, known.elementCount == id.elementCount else {
                    throw EmberIOError(.invalidStorage, "storage '\(id.key)' is declared twice with different types or sizes")
                }
                return .storage(known)
            }
            let recordName = prefix + "data/" + id.key
            guard let entry = zip.entries[recordName] else {
                throw EmberIOError(.missingRecord, "missing record data/\(id.key) (storage '\(id.key)') in the archive")
            }
            let (expected, overflow) = id.elementCount.multipliedReportingOverflow(by: dtype.itemSize)
            guard !overflow else { throw EmberIOError(.limitExceeded, "storage '\(id.key)': byte size overflows") }
            guard entry.uncompressedSize == expected else {
                throw EmberIOError(.invalidStorage,
                    "record data/\(id.key) holds \(entry.uncompressedSize) bytes but storage '\(id.key)' declares "
                    + "\(id.elementCount) \(dtype) elements (\(expected) bytes): the sizes do not match")
            }
            let mapped = options.mmap && !bigEndian && entry.method == 0
            let record: StorageRecord
            if !mapped && !bigEndian && expected >= RecordBridge.minBorrowedBytes {
                // Copied once, straight into the tensor storage that loading will use (``StorageRecord/hostStorage``).
                // (a deflated record is charged again for the inflated copy ``ZipArchiveReader`` makes)
                try budget.charge(expected, for: "storage '\(id.key)'")
                let storage = Storage(byteCount: expected, device: .cpu, zeroed: false)
                guard let p = storage.data else { throw EmberIOError(.limitExceeded, "storage '\(id.key)': cannot allocate \(expected) bytes") }
                try zip.read(entry, into: UnsafeMutableRawBufferPointer(start: p, count: expected), verifyCRC: options.verifyChecksums)
                let bytes = Data(bytesNoCopy: p, count: expected, deallocator: .custom { _, _ in withExtendedLifetime(storage) {} })
                record = try StorageRecord(key: id.key, dtype: dtype, elementCount: id.elementCount, bytes: bytes,
                                           savedLocation: id.location, isMapped: false)
                record.hostStorage = storage
            } else {
                var bytes = try zip.read(entry, mapped: mapped, verifyCRC: options.verifyChecksums && !mapped)
                if bigEndian { bytes = byteSwapped(bytes, itemSize: dtype.itemSize) }
                record = try StorageRecord(key: id.key, dtype: dtype, elementCount: id.elementCount, bytes: bytes,
                                           savedLocation: id.location, isMapped: mapped)
            }
            cache[id.key] = record
            return .storage(record)
        }
        let pickle = try zip.read(pklEntry)
        var unpickler = Unpickler(limits: options.limits, resolveStorage: resolve)
        let (root, _) = try pickle.withUnsafeBytes { try unpickler.load($0) }
        return PthCheckpoint(root: root, format: .zip(prefix: prefix), wasBigEndian: bigEndian)
    }

    /// Storage keys name archive members only: no folders, no `..`, nothing outside `data/`.
    static func checkStorageKey(_ key: String) throws {
        guard !key.isEmpty, !key.contains("/"), !key.contains("\\"), !key.contains(".."), !key.contains("\0") else {
            throw EmberIOError(.invalidStorage,
                "storage key '\(key)' is not a plain record name inside the archive (path traversal refused)")
        }
    }

    init(root: PickleValue, format: Format, wasBigEndian: Bool) {
        self.root = root
        self.format = format
        self.wasBigEndian = wasBigEndian
    }
}
