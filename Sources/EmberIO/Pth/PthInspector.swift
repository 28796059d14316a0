import EmberCore
import Foundation

/// `ember inspect FILE [--json]`: the tensors of a `.pth` or `.safetensors` file.
///
/// ``json(contentsOf:)`` prints exactly what `pth_inspect.py FILE` prints (the project's torch-free
/// Python reader that accepts only `torch.load(weights_only=True)`'s globals; not in this repository):
/// `{"tensors": {name: {dtype, shape, stride, storage_offset, requires_grad, sha256}}, "other": …}`,
/// same structure, key order, `json.dumps(indent=1)` layout and Python float repr, so the two can be
/// compared byte for byte. ``InspectListing`` is the human-readable listing.
public enum PthInspector {
    /// The pth_inspect.py JSON for `url` (`.safetensors` by extension, else `.pth`).
    /// - Parameter maxNodes: refuse (``EmberIOError/Kind/limitExceeded``) when expanding memo-shared
    ///   containers would print more than this many values (Python would expand them without limit).
    /// - Throws: whatever loading throws.
    public static func json(contentsOf url: URL, maxNodes: Int = 5_000_000) throws -> String {
        var budget = maxNodes
        var out = ""
        if url.pathExtension == "safetensors" {
            let file = try SafetensorsFile.load(contentsOf: url)
            let items = file.tensors.values.map { t in
                (t.name, describe(dtype: t.elementType.torchName, shape: t.shape, stride: TensorRecord.contiguousStrides(t.shape),
                                  offset: 0, requiresGrad: false, sha: SHA256Digest.hex(t.bytes), level: 1))
            }
            out = JSONText.object(items, level: 0)
        } else {
            let checkpoint = try PthCheckpoint.load(contentsOf: url)
            var sizes: [ObjectIdentifier: Int] = [:]
            guard expandedSize(checkpoint.root, limit: maxNodes, cache: &sizes) <= maxNodes else {
                throw EmberIOError(.limitExceeded,
                    "structure too large to print: shared references expand to more than \(maxNodes) values", file: url.path)
            }
            out = try describe(checkpoint.root, level: 0, budget: &budget)
        }
        return out + "\n"
    }

    /// Values printed when shared containers are expanded, computed once per container (saturating at `limit + 1`).
    private static func expandedSize(_ v: PickleValue, limit: Int, cache: inout [ObjectIdentifier: Int]) -> Int {
        let id: ObjectIdentifier?
        switch v {
        case .list(let l): id = ObjectIdentifier(l)
        case .dict(let d): id = ObjectIdentifier(d)
        default: id = nil
        }
        if let id, let known = cache[id] { return known }
        var total = 1
        let children: [PickleValue] = v.dict.map { Array($0.items.values) } ?? v.elements ?? []
        for c in children { total = min(limit + 1, total + expandedSize(c, limit: limit, cache: &cache)) }
        if let id { cache[id] = total }
        return total
    }

    private static func describe(_ v: PickleValue, level: Int, budget: inout Int) throws -> String {
        budget -= 1
        guard budget >= 0 else {
            throw EmberIOError(.limitExceeded, "structure too large to print (shared references expand past the node budget)")
        }
        switch v {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return JSONText.pythonFloat(f)
        case .string(let s): return JSONText.string(s)
        case .tensor(let t):
            return describe(dtype: t.dtype.rawValue, shape: t.shape, stride: t.strides, offset: t.storageOffset,
                            requiresGrad: t.requiresGrad, sha: t.sha256Hex(), level: level)
        case .dict(let d):
            var items: [(String, String)] = []
            for (k, x) in d.items {
                let key: String
                if case .float(let f) = k { key = JSONText.pythonFloat(f) } else { key = k.description }
                items.append((key, try describe(x, level: level + 1, budget: &budget)))
            }
            return JSONText.object(items, level: level)
        case .list, .tuple:
            let items = try (v.elements ?? []).map { try describe($0, level: level + 1, budget: &budget) }
            return JSONText.array(items, level: level)
        case .bytes(let d): return JSONText.string("b'<\(d.count) bytes>'")
        case .storage(let s): return JSONText.string("<storage \(s.key)>")
        case .global(let m, let n): return JSONText.string("<\(m).\(n)>")
        case .unsupported(let what): return JSONText.string(what)
        }
    }

    private static func describe(dtype: String, shape: [Int], stride: [Int], offset: Int, requiresGrad: Bool, sha: String,
                                 level: Int) -> String {
        JSONText.object([
            ("dtype", JSONText.string(dtype)),
            ("shape", JSONText.array(shape.map(String.init), level: level + 1)),
            ("stride", JSONText.array(stride.map(String.init), level: level + 1)),
            ("storage_offset", String(offset)),
            ("requires_grad", requiresGrad ? "true" : "false"),
            ("sha256", JSONText.string(sha)),
        ], level: level)
    }
}

/// Python `json.dumps(obj, indent=1)` text pieces (ensure_ascii, `repr` floats, NaN/Infinity).
enum JSONText {
    /// `items` are already-encoded values; nested values were encoded at `level + 1`.
    static func object(_ items: [(String, String)], level: Int) -> String {
        guard !items.isEmpty else { return "{}" }
        let pad = String(repeating: " ", count: level + 1)
        return "{\n" + items.map { pad + string($0.0) + ": " + $0.1 }.joined(separator: ",\n") + "\n"
            + String(repeating: " ", count: level) + "}"
    }

    static func array(_ items: [String], level: Int) -> String {
        guard !items.isEmpty else { return "[]" }
        let pad = String(repeating: " ", count: level + 1)
        return "[\n" + items.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: " ", count: level) + "]"
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.utf16 {
            switch u {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(u)!)
            default: out += String(format: "\\u%04x", u)
            }
        }
        return out + "\""
    }

    /// Python's `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 ≤ |x| < 1e16.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        var s = "\(d)" // Swift also prints the shortest round-trip digits
        let negative = s.hasPrefix("-")
        if negative { s.removeFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(s[s.index(after: e)...])!
            s = String(s[..<e])
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + frac
        var decpt = intPart.count + exponent
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); decpt -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        if digits == "0" { return negative ? "-0.0" : "0.0" }
        let exp10 = decpt - 1
        var out: String
        if exp10 >= -4 && exp10 < 16 {
            if decpt <= 0 { out = "0." + String(repeating: "0", count: -decpt) + digits }
            else if decpt >= digits.count { out = digits + String(repeating: "0", count: decpt - digits.count) + ".0" }
            else { out = String(digits.prefix(decpt)) + "." + String(digits.dropFirst(decpt)) }
        } else {
            let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + String(digits.dropFirst()) : digits
            out = mantissa + "e" + (exp10 < 0 ? "-" : "+") + (abs(exp10) < 10 ? "0" : "") + String(abs(exp10))
        }
        return negative ? "-" + out : out
    }
}
