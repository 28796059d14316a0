import EmberCore
import Foundation

/// The human-readable listing of a checkpoint that `ember inspect FILE` prints: the saved object as an
/// indented tree (dict keys and list/tuple indices as nested lines, short lists of scalars inline), one line
/// per tensor with its dtype (PyTorch's name, e.g. `float32`), shape and bytes (elements × item size), then
/// the totals. A `.safetensors` file (by extension) lists its `__metadata__` and tensors in file order.
///
/// Totals: `tensors` counts every tensor entry; `elements` counts each distinct tensor once (a key tied to
/// another, i.e. the same storage, offset, shape and stride, is not counted again, as `numParameters` counts
/// a tied weight once); `bytes` is the size of the distinct storages, i.e. the tensor data in the file.
public struct InspectListing {
    /// A line of the listing: a plain heading, or a name with columns (dtype, shape, bytes, note) or a value.
    private enum Row {
        case heading(String)
        case tensor(name: String, dtype: String, shape: [Int], bytes: Int, note: String)
        case value(name: String, text: String)
    }
    private var rows: [Row] = []
    private var tensorCount = 0
    private var elementCount = 0
    private var storageBytes = 0
    private var storages: [ObjectIdentifier: String] = [:]
    private var views: [String: String] = [:]
    private var sharedContainers = Set<ObjectIdentifier>()

    /// Containers nested deeper than this are summarised (the unpickler allows 256 levels).
    static let maxDepth = 64

    /// The listing with aligned columns (name, dtype, shape, bytes), one line each, ending in a newline.
    public var text: String {
        var nameWidth = 0, dtypeWidth = 0, shapeWidth = 0, bytesWidth = 0
        for case .tensor(let name, let dtype, let shape, let bytes, _) in rows {
            nameWidth = max(nameWidth, name.count)
            dtypeWidth = max(dtypeWidth, dtype.count)
            shapeWidth = max(shapeWidth, "\(shape)".count)
            bytesWidth = max(bytesWidth, grouped(bytes).count)
        }
        for case .value(let name, _) in rows { nameWidth = max(nameWidth, name.count) }
        nameWidth = min(nameWidth, 60)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        let lines = rows.map { row -> String in
            switch row {
            case .heading(let text): return text
            case .value(let name, let text): return pad(name, nameWidth) + "  = " + text
            case .tensor(let name, let dtype, let shape, let bytes, let note):
                let b = grouped(bytes)
                return pad(name, nameWidth) + "  " + pad(dtype, dtypeWidth) + "  " + pad("\(shape)", shapeWidth) + "  "
                    + String(repeating: " ", count: bytesWidth - b.count) + b + " B" + note
            }
        }
        // Keys, values and names come from the file: escaped, so they cannot drive the terminal.
        return lines.map { TerminalText.escaped($0) }.joined(separator: "\n") + "\n"
    }

    /// Reads `url` with the same loaders as `load` / `loadSafetensors`, executing nothing; a `.pth`
    /// keeps tensors of dtypes Ember does not support (listed, not refused).
    /// - Throws: ``EmberIOError`` when the file is missing, damaged or hostile (as loading throws).
    public init(contentsOf url: URL) throws {
        if url.pathExtension == "safetensors" {
            let file = try SafetensorsFile.load(contentsOf: url)
            rows.append(.heading("\(url.lastPathComponent): safetensors, \(file.tensors.count) tensors"
                                 + (file.metadata.map { ", __metadata__ with \($0.count) entries" } ?? "")))
            for (key, value) in file.metadata ?? [:] { rows.append(.value(name: "__metadata__." + key, text: quoted(value))) }
            for t in file.tensors.values {
                let n = t.shape.reduce(1, *)
                tensorCount += 1
                elementCount += n
                storageBytes += t.bytes.count
                rows.append(.tensor(name: t.name, dtype: t.elementType.torchName, shape: t.shape, bytes: t.bytes.count, note: ""))
            }
        } else {
            // Mapped (torch.load(mmap=True)): the listing reads the pickle and the zip directory, never
            // the tensors' bytes, so a 2 GB checkpoint is listed without paging it in.
            var options = PthLoadOptions(mmap: true)
            options.keepUnsupported = true // list a complex64 tensor instead of refusing the whole file
            let checkpoint = try PthCheckpoint.load(contentsOf: url, options: options)
            let format: String
            switch checkpoint.format {
            case .zip(let prefix): format = "PyTorch zip checkpoint (top folder '\(prefix)')"
            case .legacy: format = "PyTorch legacy (pre-1.6) checkpoint"
            }
            rows.append(.heading("\(url.lastPathComponent): \(format)" + (checkpoint.wasBigEndian ? ", big-endian storages" : "")))
            if case .tensor = checkpoint.root {
                visit(key: "<tensor>", checkpoint.root, indent: 0, depth: 0)
            } else if !visitChildren(of: checkpoint.root, indent: 0, depth: 0) {
                visit(key: "<object>", checkpoint.root, indent: 0, depth: 0)
            }
        }
        let shared = tensorCount - storages.count
        rows.append(.heading("total: \(tensorCount) tensors, \(grouped(elementCount)) elements, \(grouped(storageBytes)) bytes"
                             + (storageBytes >= 1024 ? " (\(humanBytes(storageBytes)))" : "")
                             + (!storages.isEmpty && shared > 0 ? " in \(storages.count) storage\(storages.count == 1 ? "" : "s"): some tensors share memory" : "")))
    }

    /// Lists the children of a dict, list or tuple; false for other values.
    private mutating func visitChildren(of value: PickleValue, indent: Int, depth: Int) -> Bool {
        switch value {
        case .dict(let d):
            for (k, v) in d.items { visit(key: k.description, v, indent: indent, depth: depth + 1) }
        case .list(let l):
            for (i, v) in l.items.enumerated() { visit(key: String(i), v, indent: indent, depth: depth + 1) }
        case .tuple(let items):
            for (i, v) in items.enumerated() { visit(key: String(i), v, indent: indent, depth: depth + 1) }
        default:
            return false
        }
        return true
    }

    private mutating func visit(key: String, _ value: PickleValue, indent: Int, depth: Int) {
        switch value {
        case .tensor(let t):
            let bytes = t.elementCount * t.dtype.itemSize
            tensorCount += 1
            var note = ""
            let id = ObjectIdentifier(t.storage)
            let view = "\(t.storageOffset) \(t.shape) \(t.strides)"
            if let first = storages[id] {
                if views[first] == view { note = "  (tied to \(first))" } else {
                    note = "  (shares storage with \(first))"
                    elementCount += t.elementCount
                }
            } else {
                storages[id] = key
                views[key] = view
                storageBytes += t.storage.byteCount
                elementCount += t.elementCount
            }
            let kind = t.isParameter ? "  Parameter" : ""
            rows.append(.tensor(name: indented(key, indent), dtype: t.dtype.rawValue, shape: t.shape, bytes: bytes, note: kind + note))
        case .dict, .list, .tuple:
            if let inline = inlineScalars(value) {
                rows.append(.value(name: indented(key, indent), text: inline))
                return
            }
            if let id = containerID(value), !sharedContainers.insert(id).inserted {
                rows.append(.heading(indented(key, indent) + "  (the same object again: listed above)"))
                return
            }
            guard depth < InspectListing.maxDepth else {
                rows.append(.heading(indented(key, indent) + "  (nested deeper than \(InspectListing.maxDepth) levels: not listed)"))
                return
            }
            rows.append(.heading(indented(key, indent)))
            _ = visitChildren(of: value, indent: indent + 1, depth: depth)
        default:
            rows.append(.value(name: indented(key, indent), text: scalar(value)))
        }
    }

    /// Short lists/tuples of scalars (`betas`, `params`) on one line; nil otherwise.
    private func inlineScalars(_ value: PickleValue) -> String? {
        guard let items = value.elements, items.count <= 16 else { return value.dict?.items.isEmpty == true ? "{}" : nil }
        var parts: [String] = []
        for item in items {
            switch item {
            case .dict, .list, .tuple, .tensor: return nil
            default: parts.append(scalar(item))
            }
        }
        if case .tuple = value { return "(" + parts.joined(separator: ", ") + (parts.count == 1 ? ",)" : ")") }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    private func scalar(_ value: PickleValue) -> String {
        switch value {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let f): return "\(f)"
        case .string(let s): return quoted(s)
        case .bytes(let d): return "<\(d.count) bytes>"
        case .global(let m, let n): return "<\(m).\(n)>"
        case .storage(let s): return "<storage \(s.key): \(s.elementCount) \(s.dtype.rawValue)>"
        case .unsupported(let what): return "<\(what): not supported by Ember>"
        case .tensor, .dict, .list, .tuple: return ""
        }
    }

    private func containerID(_ value: PickleValue) -> ObjectIdentifier? {
        switch value {
        case .dict(let d): return ObjectIdentifier(d)
        case .list(let l): return ObjectIdentifier(l)
        default: return nil
        }
    }

    private func indented(_ key: String, _ indent: Int) -> String { String(repeating: "  ", count: indent) + key }

    private func quoted(_ s: String) -> String {
        "'" + (s.count > 60 ? String(s.prefix(57)) + "..." : s) + "'"
    }
}

/// `1234567` → `1,234,567`.
private func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// Bytes in binary units (`4.8 KiB`, `497.8 MiB`).
private func humanBytes(_ n: Int) -> String {
    var value = Double(n)
    for unit in ["B", "KiB", "MiB", "GiB"] {
        if value < 1024 || unit == "GiB" { return unit == "B" ? "\(n) B" : String(format: "%.1f", value) + " " + unit }
        value /= 1024
    }
    return "\(n) B"
}
