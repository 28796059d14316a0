import EmberCore
import Foundation

/// The raw bytes of one storage from a checkpoint (`torch.UntypedStorage` viewed with one dtype).
///
/// Bytes are little-endian and hold exactly `elementCount × dtype.itemSize` bytes. Tensors that shared a
/// storage when they were saved (tied weights, views) reference the *same* `StorageRecord` object after
/// loading, so the lead's Tensor bridge can map one record to one buffer.
/// `bytes` may be a memory-mapped region of the file (lazy loading); the mapping stays valid while the
/// `Data` (or any copy of it) is alive.
public final class StorageRecord: @unchecked Sendable {
    /// The archive key (`data/<key>` in a zip `.pth`, or a number in a legacy file). Writers assign new keys.
    public let key: String
    public let dtype: DType
    /// Number of elements (torch's `numel` in the persistent id).
    public let elementCount: Int
    /// `elementCount × dtype.itemSize`, in little-endian order.
    public let bytes: Data
    /// The device tag the storage was saved with (`cpu`, `cuda:0`, `mps`), before `map_location`.
    public let savedLocation: String
    /// True when `bytes` references the memory-mapped file instead of a private copy.
    public let isMapped: Bool

    public var byteCount: Int { bytes.count }
    /// The CPU storage `bytes` live in, when the reader copied the record straight into one: loading then
    /// uses it as the tensors' storage instead of copying the bytes again (the record is not handed out
    /// after that, so nothing sees the tensors' later writes through `bytes`).
    var hostStorage: Storage?

    /// Creates a storage record.
    /// - Throws: ``EmberIOError/Kind/invalidStorage`` if `bytes.count != elementCount × dtype.itemSize`.
    public init(key: String, dtype: DType, elementCount: Int, bytes: Data, savedLocation: String = "cpu",
                isMapped: Bool = false) throws {
        let (need, overflow) = elementCount.multipliedReportingOverflow(by: dtype.itemSize)
        guard elementCount >= 0, !overflow, need == bytes.count else {
            throw EmberIOError(.invalidStorage,
                "storage '\(key)': \(bytes.count) bytes do not hold \(elementCount) \(dtype) elements")
        }
        self.key = key
        self.dtype = dtype
        self.elementCount = elementCount
        self.bytes = bytes
        self.savedLocation = savedLocation
        self.isMapped = isMapped
    }

    /// A record whose bytes are not known yet (first pass over a legacy file); never escapes the reader.
    init(placeholderKey key: String, dtype: DType, elementCount: Int) {
        self.key = key
        self.dtype = dtype
        self.elementCount = elementCount
        self.bytes = Data()
        self.savedLocation = "cpu"
        self.isMapped = false
    }
}

/// A strided view of a ``StorageRecord``: what `torch._utils._rebuild_tensor_v2` describes.
///
/// Invariants checked at construction: `shape` and `strides` have the same rank, no negative entries,
/// `storageOffset ≥ 0`, and every addressed element lies inside the storage
/// (`storageOffset + Σ (shape[i]-1)·strides[i] < storage.elementCount`, computed without overflow).
/// Source: https://pytorch.org/docs/stable/tensor_view.html
public struct TensorRecord: @unchecked Sendable {
    public let storage: StorageRecord
    public var dtype: DType { storage.dtype }
    public let shape: [Int]
    public let strides: [Int]
    /// Offset into the storage, in elements.
    public let storageOffset: Int
    public var requiresGrad: Bool
    /// True for tensors saved as `nn.Parameter` (`torch._utils._rebuild_parameter`).
    public var isParameter: Bool

    /// Creates a tensor record after checking it stays inside its storage.
    /// - Throws: ``EmberIOError/Kind/outOfBounds`` or ``EmberIOError/Kind/limitExceeded`` (overflow).
    public init(storage: StorageRecord, shape: [Int], strides: [Int]? = nil, storageOffset: Int = 0,
                requiresGrad: Bool = false, isParameter: Bool = false) throws {
        let strides = strides ?? TensorRecord.contiguousStrides(shape)
        let what = "tensor of shape \(shape), stride \(strides), offset \(storageOffset) on storage "
            + "'\(storage.key)' (\(storage.elementCount) \(storage.dtype) elements)"
        guard shape.count == strides.count else {
            throw EmberIOError(.outOfBounds, "\(what): size and stride have different lengths")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw EmberIOError(.outOfBounds, "\(what): negative size, stride or offset")
        }
        _ = try TensorRecord.elementCount(of: shape, context: what)
        var need = storageOffset
        if !shape.contains(0) {
            var extent = 1
            for (n, s) in zip(shape, strides) {
                let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = extent.addingReportingOverflow(step)
                guard !o1, !o2 else { throw EmberIOError(.limitExceeded, "\(what): extent overflows Int64") }
                extent = sum
            }
            let (total, o3) = storageOffset.addingReportingOverflow(extent)
            guard !o3 else { throw EmberIOError(.limitExceeded, "\(what): extent overflows Int64") }
            need = total
        }
        guard need <= storage.elementCount else {
            throw EmberIOError(.outOfBounds,
                "\(what) needs \(need) elements, the storage has \(storage.elementCount)")
        }
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.storageOffset = storageOffset
        self.requiresGrad = requiresGrad
        self.isParameter = isParameter
    }

    /// Number of elements, `shape.reduce(1, *)`.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Row-major strides for `shape` (PyTorch's contiguous layout).
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc = acc &* max(shape[i], 1)
        }
        return strides
    }

    /// The element count of `shape`, refusing negative entries and Int64 overflow.
    static func elementCount(of shape: [Int], context: String) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw EmberIOError(.outOfBounds, "\(context): negative dimension \(d)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw EmberIOError(.limitExceeded, "\(context): element count overflows Int64") }
            n = p
        }
        return n
    }

    /// True when the tensor covers its elements in row-major order without gaps.
    public var isContiguous: Bool {
        shape.contains(0) || zip(zip(shape, strides), TensorRecord.contiguousStrides(shape))
            .allSatisfy { pair, c in pair.0 == 1 || pair.1 == c }
    }

    /// SHA-256 of ``contiguousBytes()`` (what `expected.json` and `pth_inspect.py` print), computed in
    /// 64 KiB pieces, so an expanded (stride-0) view is hashed without being materialised: memory stays
    /// O(1) and time O(numel) (the loader's memory budget bounds numel × itemsize).
    public func sha256Hex() -> String {
        var hasher = SHA256Hasher()
        let item = dtype.itemSize
        let count = elementCount
        guard count > 0 else { return hasher.finalizeHex() }
        let shape = self.shape, strides = self.strides, offset = storageOffset
        storage.bytes.withUnsafeBytes { src in
            if isContiguous {
                hasher.update(UnsafeRawBufferPointer(rebasing: src[(offset * item)..<((offset + count) * item)]))
                return
            }
            let chunkElements = max(1, (1 << 16) / item)
            var chunk = [UInt8](repeating: 0, count: chunkElements * item)
            let srcBase = src.baseAddress!
            var index = [Int](repeating: 0, count: shape.count)
            var srcElement = offset
            var filled = 0
            chunk.withUnsafeMutableBytes { dst in
                let dstBase = dst.baseAddress!
                for _ in 0..<count {
                    memcpy(dstBase + filled * item, srcBase + srcElement * item, item)
                    filled += 1
                    if filled == chunkElements {
                        hasher.update(UnsafeRawBufferPointer(dst))
                        filled = 0
                    }
                    var d = shape.count - 1
                    while d >= 0 {
                        index[d] += 1
                        srcElement += strides[d]
                        if index[d] < shape[d] { break }
                        srcElement -= strides[d] * shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
                if filled > 0 { hasher.update(UnsafeRawBufferPointer(rebasing: dst[0..<(filled * item)])) }
            }
        }
        return hasher.finalizeHex()
    }

    /// The tensor's elements, contiguous and row-major, little-endian (what `expected.json` hashes).
    public func contiguousBytes() -> Data {
        let item = dtype.itemSize
        let count = elementCount
        if count == 0 { return Data() }
        let byteOffset = storageOffset * item
        if isContiguous {
            return storage.bytes.withUnsafeBytes { Data($0[byteOffset..<(byteOffset + count * item)]) }
        }
        var out = Data(count: count * item)
        let shape = self.shape, strides = self.strides
        storage.bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                let srcBase = src.baseAddress!, dstBase = dst.baseAddress!
                var index = [Int](repeating: 0, count: shape.count)
                var srcElement = storageOffset
                for i in 0..<count {
                    memcpy(dstBase + i * item, srcBase + srcElement * item, item)
                    // Odometer increment over the last dimension first.
                    var d = shape.count - 1
                    while d >= 0 {
                        index[d] += 1
                        srcElement += strides[d]
                        if index[d] < shape[d] { break }
                        srcElement -= strides[d] * shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return out
    }
}
