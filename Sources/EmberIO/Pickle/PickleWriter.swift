import EmberCore
import Foundation

/// Encodes a ``PickleValue`` as a protocol-2 pickle that `torch.load(weights_only=True)` accepts: only the
/// opcodes and globals of its allowlist (`_rebuild_tensor_v2`, `_rebuild_parameter`, `OrderedDict`,
/// `torch.<X>Storage`). Storages become persistent ids `('storage', torch.<X>Storage, key, location, numel)`;
/// `storageKey` gives each distinct ``StorageRecord`` one key, so tied tensors stay tied.
/// Shared lists/dicts are written once and referenced through the memo (BINPUT/BINGET).
/// Source: CPython `Lib/pickle.py` (`_Pickler`), torch/serialization.py `_save`.
struct PickleWriter {
    private(set) var out = [UInt8]()
    private var memo: [ObjectIdentifier: Int] = [:]
    private var inProgress = Set<ObjectIdentifier>()
    let storageKey: (StorageRecord) -> String
    let location: (String) -> String

    init(storageKey: @escaping (StorageRecord) -> String, location: @escaping (String) -> String) {
        self.storageKey = storageKey
        self.location = location
    }

    mutating func dump(_ value: PickleValue) throws {
        out += [0x80, 2] // PROTO 2
        try write(value)
        out.append(0x2E) // STOP
    }

    private mutating func write(_ value: PickleValue) throws {
        switch value {
        case .none: out.append(0x4E)
        case .bool(let b): out.append(b ? 0x88 : 0x89)
        case .int(let i): writeInt(i)
        case .float(let f): out.append(0x47); out += withUnsafeBytes(of: f.bitPattern.bigEndian, Array.init)
        case .string(let s): writeString(s)
        case .bytes(let d):
            // Protocol 2 has no bytes opcode: torch/pickle use _codecs.encode(latin-1 text, 'latin1').
            writeGlobal("_codecs", "encode")
            writeString(String(d.map { Character(Unicode.Scalar($0)) }))
            writeString("latin1")
            out += [0x86, 0x52] // TUPLE2, REDUCE
        case .tuple(let items):
            switch items.count {
            case 0: out.append(0x29)
            case 1...3:
                for x in items { try write(x) }
                out.append(0x84 + UInt8(items.count))
            default:
                out.append(0x28)
                for x in items { try write(x) }
                out.append(0x74)
            }
        case .list(let l):
            if try memoized(l) { return }
            out.append(0x5D) // EMPTY_LIST
            remember(l)
            for chunk in stride(from: 0, to: l.items.count, by: 1000) {
                out.append(0x28)
                for x in l.items[chunk..<min(chunk + 1000, l.items.count)] { try write(x) }
                out.append(0x65) // APPENDS
            }
            inProgress.remove(ObjectIdentifier(l))
        case .dict(let d):
            if try memoized(d) { return }
            if d.isOrdered {
                writeGlobal("collections", "OrderedDict")
                out += [0x29, 0x52] // EMPTY_TUPLE, REDUCE
            } else {
                out.append(0x7D) // EMPTY_DICT
            }
            remember(d)
            let items = Array(d.items)
            for chunk in stride(from: 0, to: items.count, by: 1000) {
                out.append(0x28)
                for (k, v) in items[chunk..<min(chunk + 1000, items.count)] { try write(k.value); try write(v) }
                out.append(0x75) // SETITEMS
            }
            if !d.attributes.isEmpty { // BUILD with {'_metadata': ...}, as OrderedDict.__reduce__ does
                out.append(0x7D)
                out.append(0x28)
                for (k, v) in d.attributes { writeString(k); try write(v) }
                out += [0x75, 0x62] // SETITEMS, BUILD
            }
            inProgress.remove(ObjectIdentifier(d))
        case .tensor(let t): try writeTensor(t)
        case .storage(let s): writeStorage(s)
        case .global(let module, let name):
            guard PickleAllowlist.isAllowed(module: module, name: name) else {
                throw EmberIOError(.forbiddenGlobal, "cannot save global \(module).\(name): not in the weights-only allowlist")
            }
            writeGlobal(module, name)
        case .unsupported(let what):
            throw EmberIOError(.unsupportedDType, "cannot save \(what)")
        }
    }

    private mutating func memoized(_ box: AnyObject) throws -> Bool {
        let id = ObjectIdentifier(box)
        if inProgress.contains(id) { throw EmberIOError(.invalidArgument, "cannot save a container that contains itself") }
        guard let index = memo[id] else { return false }
        if index < 256 { out += [0x68, UInt8(index)] } else { out.append(0x6A); out += le32(UInt32(index)) }
        return true
    }

    private mutating func remember(_ box: AnyObject) {
        let index = memo.count
        memo[ObjectIdentifier(box)] = index
        inProgress.insert(ObjectIdentifier(box))
        if index < 256 { out += [0x71, UInt8(index)] } else { out.append(0x72); out += le32(UInt32(index)) }
    }

    private mutating func writeTensor(_ t: TensorRecord) throws {
        if t.isParameter {
            writeGlobal("torch._utils", "_rebuild_parameter")
            out.append(0x28)
        }
        writeGlobal("torch._utils", "_rebuild_tensor_v2")
        out.append(0x28)
        writeStorage(t.storage)
        writeInt(Int64(t.storageOffset))
        try write(.tuple(t.shape.map { .int(Int64($0)) }))
        try write(.tuple(t.strides.map { .int(Int64($0)) }))
        out.append(t.requiresGrad && !t.isParameter ? 0x88 : 0x89)
        writeGlobal("collections", "OrderedDict")
        out += [0x29, 0x52, 0x74, 0x52] // EMPTY_TUPLE REDUCE (hooks), TUPLE, REDUCE
        if t.isParameter {
            out.append(t.requiresGrad ? 0x88 : 0x89)
            writeGlobal("collections", "OrderedDict")
            out += [0x29, 0x52, 0x74, 0x52]
        }
    }

    private mutating func writeStorage(_ s: StorageRecord) {
        out.append(0x28)
        writeString("storage")
        writeGlobal("torch", s.dtype.storageClassName)
        writeString(storageKey(s))
        writeString(location(storageKey(s)))
        writeInt(Int64(s.elementCount))
        out += [0x74, 0x51] // TUPLE, BINPERSID
    }

    private mutating func writeGlobal(_ module: String, _ name: String) {
        out.append(0x63)
        out += Array("\(module)\n\(name)\n".utf8)
    }

    private mutating func writeString(_ s: String) {
        let bytes = Array(s.utf8)
        out.append(0x58)
        out += le32(UInt32(bytes.count))
        out += bytes
    }

    private mutating func writeInt(_ i: Int64) {
        if i >= 0 && i < 256 { out += [0x4B, UInt8(i)] }
        else if i >= 0 && i < 65_536 { out.append(0x4D); out += le16(UInt16(i)) }
        else if i >= Int64(Int32.min) && i <= Int64(Int32.max) { out.append(0x4A); out += le32(UInt32(bitPattern: Int32(i))) }
        else {
            // LONG1: minimal little-endian two's complement.
            var bytes = le64(UInt64(bitPattern: i))
            while bytes.count > 1 {
                let last = bytes[bytes.count - 1], prev = bytes[bytes.count - 2]
                if (last == 0 && prev & 0x80 == 0) || (last == 0xFF && prev & 0x80 != 0) { bytes.removeLast() } else { break }
            }
            out += [0x8A, UInt8(bytes.count)] + bytes
        }
    }
}
