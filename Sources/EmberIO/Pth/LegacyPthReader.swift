import EmberCore
import Foundation

/// Reader for the pre-1.6 `torch.save(_use_new_zipfile_serialization=False)` format:
/// magic-number pickle, protocol pickle (1001), sys_info pickle, the object pickle (persistent ids
/// `('storage', type, key, location, numel, view)`), a pickle of storage keys, then per key an int64
/// element count and the raw bytes. Source: torch/serialization.py `_legacy_load`.
struct LegacyPthReader {
    /// `\x80\x02\x8a\x0a` + the 10-byte magic 0x1950a86a20f9469cfc6c (little-endian) + STOP.
    static let magicPickle: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8,
                                       0x50, 0x19, 0x2E]

    static func looksLegacy(_ buf: UnsafeRawBufferPointer) -> Bool {
        buf.count >= 4 && zip(buf.prefix(magicPickle.count), magicPickle).allSatisfy { $0 == $1 }
    }

    let file: MappedFile
    let options: PthLoadOptions

    func load() throws -> PthCheckpoint {
        let buf = file.buffer
        guard buf.count >= LegacyPthReader.magicPickle.count else {
            throw EmberIOError(.truncated, "legacy torch file truncated inside its magic number")
        }
        var position = LegacyPthReader.magicPickle.count
        var plain = Unpickler(limits: options.limits) { _ in
            throw EmberIOError(.invalidStorage, "storage reference outside the object pickle")
        }
        let (proto, p1) = try plain.load(buf, start: position)
        guard case .int(1001) = proto else { throw EmberIOError(.notACheckpoint, "legacy file with protocol \(proto), expected 1001") }
        let (sysInfo, p2) = try plain.load(buf, start: p1)
        var littleEndian = true
        if case .bool(let le) = sysInfo.dict?["little_endian"] { littleEndian = le }
        position = p2

        // Pass 1: learn the declared storages and where the object pickle ends (records follow it).
        var declared: [String: (DType, Int, String)] = [:]
        var pass1 = Unpickler(limits: options.limits) { id in
            try PthCheckpoint.checkStorageKey(id.key)
            let dtype = PickleAllowlist.supportedStorage(id.typeName)!
            if let d = declared[id.key], d.0 != dtype || d.1 != id.elementCount {
                throw EmberIOError(.invalidStorage, "storage '\(id.key)' is declared twice with different types or sizes")
            }
            declared[id.key] = (dtype, id.elementCount, id.location)
            return .storage(StorageRecord(placeholderKey: id.key, dtype: dtype, elementCount: id.elementCount))
        }
        let (_, objectEnd) = try pass1.load(buf, start: position)
        let (keysValue, dataStart) = try plain.load(buf, start: objectEnd)
        guard let keyItems = keysValue.elements else { throw EmberIOError(.malformedPickle, "legacy storage key list missing") }

        var records: [String: StorageRecord] = [:]
        var r = ByteReader(buf, position: dataStart)
        for item in keyItems {
            guard case .string(let key) = item, let (dtype, numel, location) = declared[key] else {
                throw EmberIOError(.invalidStorage, "legacy storage key list names an undeclared storage")
            }
            _ = try options.mapLocation.resolve(location, storageKey: key)
            let raw = try r.u64()
            let count = Int64(bitPattern: littleEndian ? raw : raw.byteSwapped)
            guard count == Int64(numel) else {
                throw EmberIOError(.invalidStorage, "legacy storage '\(key)' holds \(count) elements, its id declares \(numel)")
            }
            let (nbytes, overflow) = numel.multipliedReportingOverflow(by: dtype.itemSize)
            guard !overflow, nbytes <= r.remaining else {
                throw EmberIOError(.truncated, "legacy storage '\(key)' runs past the end of the file")
            }
            let range = r.position..<(r.position + nbytes)
            r.position += nbytes
            let mapped = options.mmap && littleEndian
            var bytes = mapped ? file.data(in: range) : Data(buf[range])
            if !littleEndian { bytes = byteSwapped(bytes, itemSize: dtype.itemSize) }
            records[key] = try StorageRecord(key: key, dtype: dtype, elementCount: numel, bytes: bytes,
                                             savedLocation: location, isMapped: mapped)
        }
        // Pass 2: the same object pickle, now with the real records.
        var pass2 = Unpickler(limits: options.limits) { id in
            guard let record = records[id.key] else {
                throw EmberIOError(.missingRecord, "legacy storage '\(id.key)' has no data in the file")
            }
            return .storage(record)
        }
        let (root, _) = try pass2.load(buf, start: position)
        return PthCheckpoint(root: root, format: .legacy, wasBigEndian: !littleEndian)
    }
}
