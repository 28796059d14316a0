import EmberCore
import Foundation
import OrderedCollections

/// Writes `.pth` files that `torch.load(path, weights_only=True)` reads, in torch 2.x's zip layout:
/// a top folder named after the file stem with `data.pkl` (pickle protocol 2), `.format_version` ("1"),
/// `.storage_alignment` ("64"), `byteorder` ("little"), `data/<key>` (each storage once, whole),
/// `version` ("3"), `.data/serialization_id`; every record STORED and 64-byte aligned.
/// Source: torch/serialization.py `_save`, caffe2/serialize/inline_container.cc (PyTorch 2.x).
public enum PthWriter {
    /// Saves `value` (a state dict, a dict of state dicts and optimizer state, a tensor, ...) atomically.
    ///
    /// Tensors sharing a ``StorageRecord`` are written against one record (tied weights stay tied; views
    /// keep offset/stride). Dicts with `isOrdered` become `collections.OrderedDict`, with their
    /// `attributes` (`_metadata`) restored by BUILD.
    /// - Parameters:
    ///   - archiveName: the top folder; defaults to the file name without extension (what torch does).
    ///   - deviceTag: location tag per storage key (default `cpu`); only for tests of `map_location`.
    /// - Throws: ``EmberIOError`` (`writeFailed`, `unsupportedDType`, `forbiddenGlobal`); the destination is
    ///   unchanged on failure.
    public static func save(_ value: PickleValue, to url: URL, archiveName: String? = nil,
                            deviceTag: ((String) -> String)? = nil) throws {
        let folder = archiveName ?? url.deletingPathExtension().lastPathComponent
        var keys: [ObjectIdentifier: String] = [:]
        var storages: [StorageRecord] = []
        var pickler = PickleWriter(storageKey: { s in
            if let k = keys[ObjectIdentifier(s)] { return k }
            let k = String(storages.count)
            keys[ObjectIdentifier(s)] = k
            storages.append(s)
            return k
        }, location: { deviceTag?($0) ?? "cpu" })
        try pickler.dump(value)
        let pickle = Data(pickler.out)
        // The storages' CRC-32s are computed on another thread, in file order, while earlier ones are written.
        let crcs = CRCPipeline(storages.map(\.bytes))
        defer { crcs.waitUntilFinished() } // no reading of the tensors' memory after a failed save returns
        try AtomicFileWriter.write(to: url) { sink in
            var zip = ZipArchiveWriter()
            try zip.add("\(folder)/data.pkl", pickle, to: &sink)
            try zip.add("\(folder)/.format_version", Data("1".utf8), to: &sink)
            try zip.add("\(folder)/.storage_alignment", Data("64".utf8), to: &sink)
            try zip.add("\(folder)/byteorder", Data("little".utf8), to: &sink)
            for (i, s) in storages.enumerated() { try zip.add("\(folder)/data/\(i)", s.bytes, crc: crcs.crc(i), to: &sink) }
            try zip.add("\(folder)/version", Data("3\n".utf8), to: &sink)
            let id = (0..<40).map { _ in String(Int.random(in: 0...9)) }.joined()
            try zip.add("\(folder)/.data/serialization_id", Data(id.utf8), to: &sink)
            try zip.finish(&sink)
        }
    }

    /// Saves a state dict as `collections.OrderedDict` with `_metadata` (per-module `{"version": n}`),
    /// the way `torch.save(module.state_dict(), path)` does.
    public static func save(stateDict: OrderedDictionary<String, TensorRecord>,
                            metadata: OrderedDictionary<String, Int>? = nil, to url: URL) throws {
        let dict = PickleDict(isOrdered: true)
        for (k, t) in stateDict { dict.items[.string(k)] = .tensor(t) }
        if let metadata {
            let meta = PickleDict(isOrdered: true)
            for (k, version) in metadata { meta.items[.string(k)] = .dict(PickleDict([.string("version"): .int(Int64(version))])) }
            dict.metadata = .dict(meta)
        }
        try save(.dict(dict), to: url)
    }
}

/// CRC-32s of a list of buffers, computed in order on a background thread; ``crc(_:)`` waits for one.
/// The buffers are kept alive until the last is done, even when the caller gives up early.
final class CRCPipeline: @unchecked Sendable {
    private let items: [Data]
    private let crcs: UnsafeMutableBufferPointer<UInt32>
    private let done: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)

    init(_ items: [Data]) {
        self.items = items
        crcs = .allocate(capacity: items.count)
        crcs.initialize(repeating: 0)
        done = items.map { _ in DispatchSemaphore(value: 0) }
        DispatchQueue.global().async { [self] in
            for i in items.indices {
                crcs[i] = CRC32.checksum(items[i])
                done[i].signal()
            }
            finished.signal()
        }
    }

    deinit { crcs.deallocate() }

    /// Returns once every CRC is computed (call once).
    func waitUntilFinished() { finished.wait() }

    /// The CRC-32 of item `i` (each index once).
    func crc(_ i: Int) -> UInt32 {
        done[i].wait()
        return crcs[i]
    }
}
