import EmberCore
import Foundation
import OrderedCollections

/// One tensor of a safetensors file: contiguous, row-major, little-endian bytes.
public struct SafetensorsTensor: @unchecked Sendable {
    public let name: String
    public let elementType: SafetensorsDType
    public let shape: [Int]
    /// `[begin, end)` relative to the start of the data buffer.
    public let dataOffsets: Range<Int>
    /// The bytes (a zero-copy view of the mapped file when loaded with `mapped: true`).
    public let bytes: Data

    /// The tensor as a record Ember's Tensor can wrap (one storage per tensor, contiguous).
    /// - Throws: ``EmberIOError/Kind/unsupportedDType`` for dtypes Ember lacks (U16, U32, U64, C64, F8).
    public func tensorRecord(isMapped: Bool = false) throws -> TensorRecord {
        guard let dtype = elementType.dtype else {
            throw EmberIOError(.unsupportedDType, "tensor '\(name)': dtype \(elementType.rawValue) (\(elementType.torchName)) is not supported by Ember")
        }
        let storage = try StorageRecord(key: name, dtype: dtype, elementCount: bytes.count / dtype.itemSize,
                                        bytes: bytes, isMapped: isMapped)
        return try TensorRecord(storage: storage, shape: shape)
    }
}

/// A safetensors file: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data buffer.
///
/// Validation (each failure is an ``EmberIOError``): file ≥ 8 bytes; N ≤ 100,000,000 and ≤ file size − 8
/// (checked before anything is allocated); header valid UTF-8, a JSON object without duplicate keys;
/// `__metadata__` maps strings to strings; every entry has a known dtype, a shape of non-negative integers
/// and `data_offsets` `[begin, end]` with begin ≤ end; element count × item size (overflow-checked) equals
/// end − begin; sorted by offset, the entries tile the buffer exactly from 0 with no gap, overlap or
/// trailing byte. Source: https://github.com/huggingface/safetensors (format spec; `validate` in tensor.rs).
public struct SafetensorsFile: @unchecked Sendable {
    /// The reference library's header cap.
    public static let maxHeaderLength = 100_000_000

    /// `__metadata__`, or nil when the header has none.
    public let metadata: OrderedDictionary<String, String>?
    /// Tensors in header order.
    public let tensors: OrderedDictionary<String, SafetensorsTensor>

    /// Reads a file; with `mapped` the tensors' bytes reference the memory-mapped file (zero-copy).
    public static func load(contentsOf url: URL, mapped: Bool = true) throws -> SafetensorsFile {
        try withFileContext(url.path) {
            let file = try MappedFile(path: url.path)
            return try parse(file.buffer) { range in mapped ? file.data(in: range) : Data(file.buffer[range]) }
        }
    }

    /// Parses a file held in memory.
    public static func load(data: Data) throws -> SafetensorsFile {
        try data.withUnsafeBytes { raw in try parse(raw) { data.subdata(in: $0) } }
    }

    private static func parse(_ buf: UnsafeRawBufferPointer, slice: (Range<Int>) -> Data) throws -> SafetensorsFile {
        guard buf.count >= 8 else {
            throw EmberIOError(.truncated, "file too short (\(buf.count) bytes): a safetensors file starts with an 8-byte header length")
        }
        let n = UInt64(littleEndian: buf.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(maxHeaderLength) else {
            throw EmberIOError(.malformedHeader, "header too large: length field says \(n) bytes (cap \(maxHeaderLength)); not a safetensors file?")
        }
        guard n <= UInt64(buf.count - 8) else {
            throw EmberIOError(.truncated, "header length \(n) runs past the end of the file (\(buf.count - 8) bytes after the length field)")
        }
        let headerLength = Int(n)
        guard headerLength > 0 else { throw EmberIOError(.malformedHeader, "empty header: expected a JSON object") }
        guard let text = String(validating: UnsafeRawBufferPointer(rebasing: buf[8..<(8 + headerLength)]), as: UTF8.self) else {
            throw EmberIOError(.malformedHeader, "header is not valid UTF-8")
        }
        guard case .object(let members) = try StrictJSONParser.parse(text) else {
            throw EmberIOError(.malformedHeader, "header must be a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataLength = buf.count - dataStart
        var metadata: OrderedDictionary<String, String>?
        var entries: [(String, SafetensorsDType, [Int], Range<Int>)] = []
        for (key, value) in members {
            if key == "__metadata__" {
                guard case .object(let pairs) = value else { throw EmberIOError(.malformedHeader, "__metadata__ must be an object") }
                var m = OrderedDictionary<String, String>()
                for (k, v) in pairs {
                    guard case .string(let s) = v else {
                        throw EmberIOError(.malformedHeader, "__metadata__ must map strings to strings; '\(k)' is not a string")
                    }
                    m[k] = s
                }
                metadata = m
                continue
            }
            entries.append(try entry(key, value))
        }
        // Tiling: sorted by (begin, end), each begins where the previous ended; the last ends at the buffer end.
        var cursor = 0
        var last: String?
        for (key, _, _, range) in entries.sorted(by: { ($0.3.lowerBound, $0.3.upperBound) < ($1.3.lowerBound, $1.3.upperBound) }) {
            guard range.lowerBound == cursor else {
                throw EmberIOError(.invalidOffsets, range.lowerBound < cursor
                    ? "data_offsets of '\(key)' overlap another tensor (begin \(range.lowerBound) < \(cursor))"
                    : "unused bytes \(cursor)..<\(range.lowerBound) before '\(key)': data_offsets must tile the buffer")
            }
            cursor = range.upperBound
            last = key
        }
        guard cursor == dataLength else {
            let name = last.map { " of '\($0)'" } ?? ""
            throw EmberIOError(.invalidOffsets, cursor > dataLength
                ? "data_offsets\(name) end at \(cursor), past the \(dataLength)-byte data buffer (file truncated?)"
                : "\(dataLength - cursor) trailing bytes after the last tensor\(last.map { " '\($0)'" } ?? ""): the buffer is not fully covered")
        }
        var tensors = OrderedDictionary<String, SafetensorsTensor>()
        for (key, type, shape, range) in entries {
            let bytes = slice((dataStart + range.lowerBound)..<(dataStart + range.upperBound))
            tensors[key] = SafetensorsTensor(name: key, elementType: type, shape: shape, dataOffsets: range, bytes: bytes)
        }
        return SafetensorsFile(metadata: metadata, tensors: tensors)
    }

    private static func entry(_ key: String, _ value: JSONValue) throws -> (String, SafetensorsDType, [Int], Range<Int>) {
        guard case .object(let fields) = value else { throw EmberIOError(.malformedHeader, "entry '\(key)' is not an object") }
        func field(_ name: String) throws -> JSONValue {
            guard let v = fields.first(where: { $0.0 == name })?.1 else {
                throw EmberIOError(.malformedHeader, "tensor '\(key)' has no '\(name)' field")
            }
            return v
        }
        func nonNegative(_ v: JSONValue, _ what: String) throws -> Int {
            switch v {
            case .int(let i) where i >= 0: return Int(i)
            case .uint: throw EmberIOError(.limitExceeded, "tensor '\(key)': \(what) does not fit 64 bits")
            default: throw EmberIOError(.malformedHeader, "tensor '\(key)': \(what) must be non-negative integers")
            }
        }
        guard case .string(let code) = try field("dtype") else { throw EmberIOError(.malformedHeader, "tensor '\(key)': dtype is not a string") }
        guard let type = SafetensorsDType(rawValue: code) else {
            throw EmberIOError(.unsupportedDType, "tensor '\(key)': unknown dtype '\(code)'")
        }
        guard case .array(let dims) = try field("shape") else { throw EmberIOError(.malformedHeader, "tensor '\(key)': shape is not a list") }
        let shape = try dims.map { try nonNegative($0, "shape entries") }
        guard case .array(let offs) = try field("data_offsets"), offs.count == 2 else {
            throw EmberIOError(.malformedHeader, "tensor '\(key)': data_offsets must be [begin, end]")
        }
        let begin = try nonNegative(offs[0], "data_offsets"), end = try nonNegative(offs[1], "data_offsets")
        guard begin <= end else {
            throw EmberIOError(.invalidOffsets, "tensor '\(key)': data_offsets [\(begin), \(end)] end before they begin")
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw EmberIOError(.limitExceeded, "tensor '\(key)': element count of shape \(shape) overflows") }
            count = p
        }
        let (nbytes, o) = count.multipliedReportingOverflow(by: type.itemSize)
        guard !o else { throw EmberIOError(.limitExceeded, "tensor '\(key)': byte size of shape \(shape) overflows") }
        guard nbytes == end - begin else {
            throw EmberIOError(.invalidOffsets,
                "tensor '\(key)': \(type.rawValue) shape \(shape) needs \(nbytes) bytes but data_offsets span \(end - begin)")
        }
        return (key, type, shape, begin..<end)
    }
}
