import EmberCore
import Foundation
import OrderedCollections

/// Writes safetensors files like the reference `save_file`: header `{"__metadata__": ..., "<name>":
/// {"dtype", "shape", "data_offsets"}}` padded with spaces to a multiple of 8, data ordered by item size
/// (largest first) then name, written atomically. Source: https://github.com/huggingface/safetensors.
public enum SafetensorsWriter {
    /// Saves `tensors` (any strides: written contiguous) with optional string metadata.
    /// - Throws: ``EmberIOError/Kind/sharedMemory`` when two names share one storage (bug case B08, docs/cases.md: the
    ///   reference refuses too, "Some tensors share memory"; save one name and re-tie on load),
    ///   ``EmberIOError/Kind/limitExceeded`` when the header would exceed the 100 MB cap (bug case B14, docs/cases.md),
    ///   ``EmberIOError/Kind/writeFailed``. The destination is unchanged on failure.
    public static func save(_ tensors: OrderedDictionary<String, TensorRecord>,
                            metadata: OrderedDictionary<String, String>? = nil, to url: URL) throws {
        var owners: [ObjectIdentifier: String] = [:]
        for (name, t) in tensors {
            if let other = owners.updateValue(name, forKey: ObjectIdentifier(t.storage)) {
                throw EmberIOError(.sharedMemory,
                    "Some tensors share memory: {\(other), \(name)}; saving both would write two copies that reload untied. "
                    + "Save one of them and tie it again after loading.", file: url.path)
            }
        }
        let order = tensors.keys.sorted { a, b in
            let x = tensors[a]!.dtype.itemSize, y = tensors[b]!.dtype.itemSize
            return x != y ? x > y : a < b
        }
        var header = "{"
        if let metadata {
            header += "\"__metadata__\":{" + metadata.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",") + "},"
        }
        var offset = 0
        var parts: [String] = []
        for name in order {
            let t = tensors[name]!
            let n = t.elementCount * t.dtype.itemSize
            parts.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + n)]}")
            offset += n
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        guard headerBytes.count <= SafetensorsFile.maxHeaderLength else {
            throw EmberIOError(.limitExceeded, "header of \(headerBytes.count) bytes exceeds the 100,000,000-byte cap readers enforce",
                               file: url.path)
        }
        try AtomicFileWriter.write(to: url) { sink in
            try sink.write(le64(UInt64(headerBytes.count)) + headerBytes)
            for name in order { try sink.write(tensors[name]!.contiguousBytes()) }
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
