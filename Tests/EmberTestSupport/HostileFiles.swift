import Foundation

/// Builds small, structurally valid hostile files for tests and the fuzzer's structured generator:
/// pickles nested 100,000 deep, tensors and zip records whose sizes lie consistently, odd names.
/// Byte layouts follow CPython `Lib/pickletools.py` (opcodes), PKWARE APPNOTE 6.3 (zip, ZIP64) and
/// torch/serialization.py (`_legacy_save`, the zip layout `archive/data.pkl` + `archive/data/<key>`).
public struct PickleBytes {
    public var bytes: [UInt8] = [0x80, 0x02]

    public init() {}

    public mutating func op(_ code: UInt8) { bytes.append(code) }
    public mutating func raw(_ b: [UInt8]) { bytes += b }
    public mutating func mark() { op(0x28) }
    public mutating func stop() { op(0x2E) }
    public mutating func none() { op(0x4E) }
    public mutating func bool(_ v: Bool) { op(v ? 0x88 : 0x89) }
    public mutating func emptyTuple() { op(0x29) }
    public mutating func tuple1() { op(0x85) }
    public mutating func tuple2() { op(0x86) }
    public mutating func tuple() { op(0x74) }
    public mutating func emptyDict() { op(0x7D) }
    public mutating func emptyList() { op(0x5D) }
    public mutating func append() { op(0x61) }
    public mutating func setItem() { op(0x73) }
    public mutating func setItems() { op(0x75) }
    public mutating func reduce() { op(0x52) }
    public mutating func build() { op(0x62) }
    public mutating func pop() { op(0x30) }
    public mutating func persistentID() { op(0x51) }
    public mutating func put(_ i: UInt32) { op(0x72); bytes += le(UInt64(i), 4) }
    public mutating func get(_ i: UInt32) { op(0x6A); bytes += le(UInt64(i), 4) }
    /// BINFLOAT (big-endian IEEE double).
    public mutating func float(_ v: Double) { op(0x47); bytes += le(v.bitPattern, 8).reversed() }
    /// An int as LONG1 (any Int64).
    public mutating func int(_ v: Int64) { op(0x8A); op(8); bytes += le(UInt64(bitPattern: v), 8) }
    public mutating func string(_ s: String) {
        let u = Array(s.utf8)
        op(0x58); bytes += le(UInt64(u.count), 4); bytes += u
    }
    public mutating func global(_ module: String, _ name: String) {
        op(0x63); bytes += Array(module.utf8) + [0x0A] + Array(name.utf8) + [0x0A]
    }
    /// A tuple of ints (`torch.Size` / stride arguments).
    public mutating func ints(_ values: [Int64]) {
        mark(); for v in values { int(v) }; tuple()
    }
    /// `('storage', torch.<type>, key, location, numel)` BINPERSID.
    public mutating func storage(type: String = "FloatStorage", key: String, location: String = "cpu", numel: Int64) {
        mark(); string("storage"); global("torch", type); string(key); string(location); int(numel); tuple()
        persistentID()
    }
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` on a storage.
    public mutating func tensor(type: String = "FloatStorage", key: String, numel: Int64, offset: Int64 = 0,
                                shape: [Int64], strides: [Int64]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        storage(type: type, key: key, numel: numel)
        int(offset); ints(shape); ints(strides); bool(false)
        global("collections", "OrderedDict"); emptyTuple(); reduce()
        tuple(); reduce()
    }

    func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}

/// Hostile `.pth` files built in memory.
public enum HostileFiles {
    /// One zip member. `declaredSize` overrides the uncompressed size written in the directory (a lie);
    /// `deflated` wraps `data` in one raw-deflate stored block (method 8); `zip64` writes the sizes in a
    /// ZIP64 extra field (0xFFFFFFFF in the 32-bit fields).
    public struct Member {
        public var name: String
        public var data: [UInt8]
        public var deflated = false
        public var declaredSize: UInt64?
        public var zip64 = false
        public init(_ name: String, _ data: [UInt8], deflated: Bool = false, declaredSize: UInt64? = nil,
                    zip64: Bool = false) {
            self.name = name; self.data = data; self.deflated = deflated
            self.declaredSize = declaredSize; self.zip64 = zip64
        }
    }

    /// A zip archive of `members` (no alignment padding; CRCs are computed from the real uncompressed data).
    public static func zip(_ members: [Member]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for m in members {
            let payload = m.deflated ? storedDeflateBlock(m.data) : m.data
            let usize = m.declaredSize ?? UInt64(m.data.count)
            let csize = UInt64(payload.count)
            let name = Array(m.name.utf8)
            let offset = UInt64(out.count)
            let crc = crc32(m.data)
            let method: UInt16 = m.deflated ? 8 : 0
            let extraLocal = m.zip64 ? le16(1) + le16(16) + le64(usize) + le64(csize) : []
            out += le32(0x0403_4B50) + le16(45) + le16(0) + le16(method) + le16(0) + le16(0) + le32(crc)
            out += le32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: csize))
            out += le32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: usize))
            out += le16(UInt16(name.count)) + le16(UInt16(extraLocal.count)) + name + extraLocal + payload
            let extra = m.zip64 ? le16(1) + le16(16) + le64(usize) + le64(csize) : []
            central += le32(0x0201_4B50) + le16(45) + le16(45) + le16(0) + le16(method) + le16(0) + le16(0) + le32(crc)
            central += le32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: csize))
            central += le32(m.zip64 ? 0xFFFF_FFFF : UInt32(truncatingIfNeeded: usize))
            central += le16(UInt16(name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0)
            central += le32(UInt32(offset)) + name + extra
        }
        let cdStart = out.count
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(members.count)) + le16(UInt16(members.count))
        out += le32(UInt32(central.count)) + le32(UInt32(cdStart)) + le16(0)
        return out
    }

    /// A torch ≥ 1.6 zip checkpoint: `archive/data.pkl` (= `pickle`), `archive/byteorder`, `archive/data/<key>`.
    public static func zipPth(pickle: [UInt8], records: [Member] = []) -> [UInt8] {
        var members = [Member("archive/data.pkl", pickle), Member("archive/byteorder", Array("little".utf8))]
        members += records
        return zip(members)
    }

    /// A legacy (`_use_new_zipfile_serialization=False`) file: magic, protocol 1001, sys_info, `object`,
    /// the storage key list and each storage's int64 count + bytes.
    public static func legacyPth(object: [UInt8], storages: [(key: String, count: Int64, bytes: [UInt8])] = []) -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E] // 1001
        out += [0x80, 0x02, 0x7D, 0x2E] // sys_info {}
        out += object
        var keys = PickleBytes()
        keys.mark(); for s in storages { keys.string(s.key) }; keys.op(0x6C); keys.stop() // LIST
        out += keys.bytes
        for s in storages { out += le64(UInt64(bitPattern: s.count)) + s.bytes }
        return out
    }

    // MARK: - Ready-made pickles (each ends with STOP)

    /// `torch.Size((torch.Size((… (),)),))` nested `depth` times: REDUCE-built tuples.
    public static func deepSizePickle(depth: Int) -> [UInt8] {
        var p = PickleBytes()
        p.global("torch", "Size"); p.put(0); p.pop()
        for _ in 0..<depth { p.get(0) }
        p.emptyTuple()
        for _ in 0..<depth { p.tuple1(); p.tuple1(); p.reduce() }
        p.stop()
        return p.bytes
    }

    /// `{((((…),),),): None}`: a dict whose key is a tuple nested `depth` times (built through torch.Size so
    /// each level is one REDUCE, as in ``deepSizePickle(depth:)``).
    public static func deepKeyPickle(depth: Int) -> [UInt8] {
        var p = PickleBytes()
        p.emptyDict()
        p.global("torch", "Size"); p.put(0); p.pop()
        for _ in 0..<depth { p.get(0) }
        p.emptyTuple()
        for _ in 0..<depth { p.tuple1(); p.tuple1(); p.reduce() }
        p.none(); p.setItem(); p.stop()
        return p.bytes
    }

    /// A chain of `depth` dicts, each holding the previous one in an attribute set by BUILD
    /// (`d_n.__setstate__({'a': d_{n-1}})`).
    public static func buildChainPickle(depth: Int) -> [UInt8] {
        var p = PickleBytes()
        p.emptyDict()
        for _ in 0..<depth {
            p.put(0); p.pop(); p.emptyDict(); p.emptyDict(); p.string("a"); p.get(0); p.setItem(); p.build()
        }
        p.stop()
        return p.bytes
    }

    /// `{'w': tensor}` with the tensor's size and stride given (on a float32 storage of `numel` elements,
    /// key "0"); the pickle of a zip or legacy checkpoint.
    public static func tensorDictPickle(numel: Int64, shape: [Int64], strides: [Int64], offset: Int64 = 0,
                                        key: String = "w", storageKey: String = "0") -> [UInt8] {
        var p = PickleBytes()
        p.emptyDict(); p.string(key)
        p.tensor(key: storageKey, numel: numel, offset: offset, shape: shape, strides: strides)
        p.setItem(); p.stop()
        return p.bytes
    }

    /// A dict of `count` float keys that are all NaN (`{nan: 0, nan: 1, …}`: distinct keys in Python).
    public static func nanKeysPickle(count: Int) -> [UInt8] {
        var p = PickleBytes()
        p.emptyDict(); p.mark()
        for i in 0..<count { p.float(.nan); p.int(Int64(i)) }
        p.setItems(); p.stop()
        return p.bytes
    }

    // MARK: - Bytes

    /// One final raw-deflate stored block per 65,535 bytes (BTYPE 00): a valid deflate stream of `data`.
    public static func storedDeflateBlock(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        repeat {
            let n = min(65_535, data.count - i)
            let final: UInt8 = i + n == data.count ? 1 : 0
            out.append(final)
            out += le16(UInt16(n))
            out += le16(~UInt16(n))
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        return out
    }

    public static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    public static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in le32(v.bitPattern) }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}
