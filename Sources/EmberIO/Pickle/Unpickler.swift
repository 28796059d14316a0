import EmberCore
import Foundation

/// Limits that keep a hostile pickle from exhausting stack, memory or time.
public struct UnpicklerLimits: Sendable {
    /// Deepest allowed nesting of lists/tuples/dicts/dict keys/BUILD attributes, counted through every
    /// path a pickle can nest by (TUPLE, APPEND, SETITEM, BUILD, and the allowlisted REDUCE calls
    /// `torch.Size` and `collections.OrderedDict`). `torch.save` files nest a few levels (a checkpoint dict
    /// of state dicts of tensors); deeper files are refused before anything recursive (hashing a key,
    /// walking, converting or releasing the tree) sees them, so every recursion over a loaded value is
    /// bounded by this number of frames.
    public var maxDepth = 256
    /// Most memo entries (BINPUT/MEMOIZE) one pickle may create.
    public var maxMemoEntries = 1 << 22
    /// Longest module or name in a GLOBAL opcode.
    public var maxGlobalNameBytes = 512
    public init() {}
}

/// The persistent id of a storage: `('storage', torch.<X>Storage, key, location, numel[, view])`.
struct PersistentStorageID {
    var typeName: String
    var key: String
    var location: String
    var elementCount: Int
}

/// A pickle virtual machine that builds ``PickleValue``s and cannot execute anything.
///
/// Supports every opcode `torch.save` writes with protocol 2, plus the protocol 4/5 opcodes (FRAME,
/// SHORT_BINUNICODE, BINUNICODE8, MEMOIZE, STACK_GLOBAL, BINBYTES8, ...). Calls (REDUCE) are interpreted
/// only for the allowlisted callables in ``PickleAllowlist``; INST, OBJ, NEWOBJ, EXT and out-of-band
/// buffers are refused. Source: CPython `Lib/pickle.py` and `pickletools.py` (opcode semantics).
struct Unpickler {
    private struct Item { var value: PickleValue; var depth: Int }

    let limits: UnpicklerLimits
    let resolveStorage: (PersistentStorageID) throws -> PickleValue
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]

    init(limits: UnpicklerLimits, resolveStorage: @escaping (PersistentStorageID) throws -> PickleValue) {
        self.limits = limits
        self.resolveStorage = resolveStorage
    }

    /// Decodes one pickle starting at `start`; returns the value and the offset just past STOP.
    mutating func load(_ data: UnsafeRawBufferPointer, start: Int = 0) throws -> (PickleValue, Int) {
        var r = ByteReader(data, position: start)
        stack.removeAll(); marks.removeAll(); memo.removeAll()
        defer { stack.removeAll(); marks.removeAll(); memo.removeAll() }
        while true {
            let op = try r.u8()
            switch op {
            case 0x80: // PROTO
                let proto = try r.u8()
                guard proto <= 5 else { throw err("unsupported pickle protocol \(proto)") }
            case 0x95: _ = try r.u64() // FRAME: a length hint only
            case 0x2E: // STOP
                guard let top = stack.popLast() else { throw err("STOP with an empty stack") }
                return (top.value, r.position)
            case 0x28: marks.append(stack.count) // MARK
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popMark() // POP_MARK
            case 0x32: // DUP
                guard let top = stack.last else { throw err("DUP with an empty stack") }
                stack.append(top)
            case 0x4E: push(.none) // NONE
            case 0x88: push(.bool(true))
            case 0x89: push(.bool(false))
            case 0x4A: push(.int(Int64(Int32(bitPattern: try r.u32())))) // BININT
            case 0x4B: push(.int(Int64(try r.u8()))) // BININT1
            case 0x4D: push(.int(Int64(try r.u16()))) // BININT2
            case 0x8A: push(.int(try longValue(&r, Int(try r.u8())))) // LONG1
            case 0x8B: // LONG4
                let n = try r.u32()
                guard n <= 8 else { throw EmberIOError(.limitExceeded, "integer wider than 64 bits in pickle") }
                push(.int(try longValue(&r, Int(n))))
            case 0x49: push(try textInt(&r)) // INT (protocol 0; bools are I00/I01)
            case 0x47: push(.float(Double(bitPattern: try r.u64BigEndian()))) // BINFLOAT
            case 0x58: push(.string(try r.utf8(Int(try r.u32())))) // BINUNICODE
            case 0x8C: push(.string(try r.utf8(Int(try r.u8())))) // SHORT_BINUNICODE
            case 0x8D: push(.string(try r.utf8(try r.length64()))) // BINUNICODE8
            case 0x55: push(.string(try r.latin1(Int(try r.u8())))) // SHORT_BINSTRING
            case 0x54: push(.string(try r.latin1(Int(try r.u32())))) // BINSTRING
            case 0x43: push(.bytes(try r.bytes(Int(try r.u8())))) // SHORT_BINBYTES
            case 0x42: push(.bytes(try r.bytes(Int(try r.u32())))) // BINBYTES
            case 0x8E, 0x96: push(.bytes(try r.bytes(try r.length64()))) // BINBYTES8, BYTEARRAY8
            case 0x29: push(.tuple([])) // EMPTY_TUPLE
            case 0x85, 0x86, 0x87: // TUPLE1/2/3
                let n = Int(op - 0x84)
                guard stack.count >= n + (marks.last ?? 0) else { throw err("TUPLE\(n) on a short stack") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try pushTuple(items)
            case 0x74: try pushTuple(try popMark()) // TUPLE
            case 0x5D: pushList(PickleList()) // EMPTY_LIST
            case 0x6C: // LIST
                let items = try popMark()
                let list = PickleList()
                pushList(list)
                try append(items, to: list)
            case 0x61: // APPEND
                let item = try pop()
                try append([item], to: try topList("APPEND"))
            case 0x65: // APPENDS
                let items = try popMark()
                try append(items, to: try topList("APPENDS"))
            case 0x7D: pushDict(PickleDict()) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark()
                let dict = PickleDict()
                pushDict(dict)
                try setItems(items, in: dict)
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value], in: try topDict("SETITEM"))
            case 0x75: // SETITEMS
                let items = try popMark()
                try setItems(items, in: try topDict("SETITEMS"))
            case 0x63: // GLOBAL
                let module = try r.line(max: limits.maxGlobalNameBytes)
                let name = try r.line(max: limits.maxGlobalNameBytes)
                try pushGlobal(module, name)
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name.value, case .string(let m) = module.value else {
                    throw err("STACK_GLOBAL needs two strings")
                }
                try pushGlobal(m, n)
            case 0x52: // REDUCE
                let args = try pop(), callable = try pop()
                guard case .tuple(let a) = args.value else { throw err("REDUCE arguments are not a tuple") }
                guard case .global(let m, let n) = callable.value else {
                    throw EmberIOError(.forbiddenOpcode, "REDUCE on something that is not an allowed global")
                }
                try reduce("\(m).\(n)", a, argsDepth: args.depth)
            case 0x62: // BUILD
                let state = try pop()
                guard let target = stack.last else { throw err("BUILD with an empty stack") }
                try build(target.value, state)
            case 0x51: // BINPERSID
                let pid = try pop()
                push(try persistentLoad(pid.value))
            case 0x68: try memoGet(Int(try r.u8())) // BINGET
            case 0x6A: try memoGet(Int(try r.u32())) // LONG_BINGET
            case 0x71: try memoPut(Int(try r.u8())) // BINPUT
            case 0x72: try memoPut(Int(try r.u32())) // LONG_BINPUT
            case 0x94: try memoPut(memo.count) // MEMOIZE
            case 0x69: // INST: a call by name, refused (name it for the error)
                let module = try r.line(max: limits.maxGlobalNameBytes)
                let name = try r.line(max: limits.maxGlobalNameBytes)
                throw EmberIOError(.forbiddenOpcode, "pickle opcode INST (a call of \(module).\(name)) refused")
            case 0x6F, 0x81, 0x92: // OBJ, NEWOBJ, NEWOBJ_EX
                throw EmberIOError(.forbiddenOpcode,
                    "pickle opcode \(opName(op)) (object construction\(describeCallee())) refused")
            case 0x82, 0x83, 0x84, 0x97, 0x98, 0x50, 0x8F, 0x90, 0x91:
                throw EmberIOError(.forbiddenOpcode, "pickle opcode \(opName(op)) is not supported by the safe loader")
            default:
                throw EmberIOError(.forbiddenOpcode,
                    "unknown or unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(r.position - 1)")
            }
        }
    }

    // MARK: - Stack helpers

    private func err(_ message: String) -> EmberIOError { EmberIOError(.malformedPickle, message) }

    private func opName(_ op: UInt8) -> String {
        switch op {
        case 0x6F: return "OBJ"
        case 0x81: return "NEWOBJ"
        case 0x92: return "NEWOBJ_EX"
        case 0x82, 0x83, 0x84: return "EXT"
        case 0x97: return "NEXT_BUFFER"
        case 0x98: return "READONLY_BUFFER"
        case 0x50: return "PERSID"
        default: return "set opcode 0x\(String(op, radix: 16))"
        }
    }

    private func describeCallee() -> String {
        for item in stack.reversed() {
            if case .global(let m, let n) = item.value { return " of \(m).\(n)" }
        }
        return ""
    }

    private mutating func push(_ value: PickleValue) { stack.append(Item(value: value, depth: 0)) }

    private mutating func pushList(_ list: PickleList) { stack.append(Item(value: .list(list), depth: 0)) }

    private mutating func pushDict(_ dict: PickleDict) { stack.append(Item(value: .dict(dict), depth: 0)) }

    private mutating func pop() throws -> Item {
        guard stack.count > (marks.last ?? 0), let top = stack.popLast() else {
            throw err("pop from an empty stack (or across a MARK)")
        }
        return top
    }

    private mutating func popMark() throws -> [Item] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw err("no MARK on the stack") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private func depth(_ item: Item) -> Int {
        switch item.value {
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return item.depth
        }
    }

    /// Marks `item` as placed inside a container and returns its depth + 1 (the container's new depth).
    private func contain(_ item: Item, in container: AnyObject) throws -> Int {
        switch item.value {
        case .list(let l):
            guard l !== container else { throw err("a list cannot contain itself") }
            l.isContained = true
        case .dict(let d):
            guard d !== container else { throw err("a dict cannot contain itself") }
            d.isContained = true
        default: break
        }
        let d = depth(item) + 1
        guard d <= limits.maxDepth else {
            throw EmberIOError(.limitExceeded, "pickle nesting deeper than \(limits.maxDepth) levels")
        }
        return d
    }

    private mutating func pushTuple(_ items: [Item]) throws {
        var d = 0
        for item in items {
            if case .list(let l) = item.value { l.isContained = true }
            if case .dict(let x) = item.value { x.isContained = true }
            d = max(d, depth(item) + 1)
        }
        guard d <= limits.maxDepth else {
            throw EmberIOError(.limitExceeded, "pickle nesting deeper than \(limits.maxDepth) levels")
        }
        stack.append(Item(value: .tuple(items.map(\.value)), depth: d))
    }

    private func topList(_ op: String) throws -> PickleList {
        guard let top = stack.last, case .list(let l) = top.value else { throw err("\(op) target is not a list") }
        guard !l.isContained else { throw err("\(op) on a list already placed in another container") }
        return l
    }

    private func topDict(_ op: String) throws -> PickleDict {
        guard let top = stack.last, case .dict(let d) = top.value else { throw err("\(op) target is not a dict") }
        guard !d.isContained else { throw err("\(op) on a dict already placed in another container") }
        return d
    }

    private func append(_ items: [Item], to list: PickleList) throws {
        for item in items {
            list.depth = max(list.depth, try contain(item, in: list))
            list.items.append(item.value)
        }
    }

    private func setItems(_ items: [Item], in dict: PickleDict) throws {
        guard items.count % 2 == 0 else { throw err("SETITEMS with an odd number of items") }
        var i = 0
        while i < items.count {
            dict.depth = max(dict.depth, try contain(items[i], in: dict))
            let key = try Unpickler.key(items[i].value)
            dict.depth = max(dict.depth, try contain(items[i + 1], in: dict))
            dict.items[key] = items[i + 1].value
            i += 2
        }
    }

    static func key(_ value: PickleValue) throws -> PickleKey {
        switch value {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let f): return .float(f)
        case .string(let s): return .string(s)
        case .bytes(let d): return .bytes(d)
        case .tuple(let t): return .tuple(try t.map(key))
        default: throw EmberIOError(.malformedPickle, "unhashable dict key in pickle")
        }
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let item = memo[index] else { throw err("memo key \(index) used before it was set") }
        stack.append(item)
    }

    private mutating func memoPut(_ index: Int) throws {
        guard let top = stack.last else { throw err("memo PUT with an empty stack") }
        guard memo.count < limits.maxMemoEntries || memo[index] != nil else {
            throw EmberIOError(.limitExceeded, "pickle memo larger than \(limits.maxMemoEntries) entries")
        }
        memo[index] = top
    }

    private func longValue(_ r: inout ByteReader, _ n: Int) throws -> Int64 {
        guard n <= 8 else { throw EmberIOError(.limitExceeded, "integer wider than 64 bits in pickle") }
        let b = try r.bytes(n)
        if n == 0 { return 0 }
        var v: UInt64 = 0
        for (i, byte) in b.enumerated() { v |= UInt64(byte) << (8 * UInt64(i)) }
        if n < 8, b[b.startIndex + n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) } // sign-extend
        return Int64(bitPattern: v)
    }

    private func textInt(_ r: inout ByteReader) throws -> PickleValue {
        let text = try r.line(max: 32)
        if text == "00" { return .bool(false) }
        if text == "01" { return .bool(true) }
        guard let v = Int64(text) else { throw err("bad INT literal") }
        return .int(v)
    }

    private mutating func pushGlobal(_ module: String, _ name: String) throws {
        guard PickleAllowlist.isAllowed(module: module, name: name) else {
            throw EmberIOError(.forbiddenGlobal,
                "refused global \(module).\(name): not in the weights-only allowlist (nothing was executed)")
        }
        push(.global(module: module, name: name))
    }

    // MARK: - Interpreted calls

    /// Interprets an allowlisted call. `argsDepth` is the depth of the argument tuple: values taken out of
    /// it are at most that deep, which keeps the nesting count exact through `torch.Size((…,))` and
    /// `OrderedDict([(k, v)])` (a chain of those must not restart the count at 0).
    private mutating func reduce(_ callee: String, _ a: [PickleValue], argsDepth: Int) throws {
        switch callee {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4 else { throw err("\(callee) needs at least 4 arguments") }
            let requiresGrad: Bool
            if a.count > 4, case .bool(let b) = a[4] { requiresGrad = b } else { requiresGrad = false }
            if case .unsupported(let what) = a[0] {
                push(.unsupported("tensor of size \(try ints(a[2], "size")) on \(what)"))
                return
            }
            push(.tensor(try rebuildTensor(a[0], a[1], a[2], a[3], requiresGrad)))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard a.count >= 2 else { throw err("\(callee) needs at least 2 arguments") }
            guard case .bool(let requiresGrad) = a[1] else { throw err("\(callee): requires_grad is not a bool") }
            switch a[0] {
            case .tensor(var t):
                t.requiresGrad = requiresGrad
                t.isParameter = true
                push(.tensor(t))
            case .unsupported: push(a[0])
            default: throw err("\(callee): data is not a tensor")
            }
        case "collections.OrderedDict":
            let dict = PickleDict(isOrdered: true)
            pushDict(dict)
            if let pairs = a.first?.elements {
                var flat: [Item] = []
                for pair in pairs {
                    guard let kv = pair.elements, kv.count == 2 else { throw err("OrderedDict item is not a pair") }
                    flat.append(Item(value: kv[0], depth: max(0, argsDepth - 3)))
                    flat.append(Item(value: kv[1], depth: max(0, argsDepth - 3)))
                }
                try setItems(flat, in: dict)
            }
        case "torch.Size":
            guard let dims = a.first?.elements else { throw err("torch.Size needs a tuple") }
            try pushTuple(dims.map { Item(value: $0, depth: max(0, argsDepth - 2)) })
        case "torch.device":
            guard case .string(let type) = a.first else { throw err("torch.device needs a string") }
            if a.count > 1, case .int(let index) = a[1] { push(.string("\(type):\(index)")) } else { push(.string(type)) }
        case "_codecs.encode":
            // Protocol 2 pickles Python `bytes` as _codecs.encode(text, 'latin1').
            guard a.count == 2, case .string(let text) = a[0], case .string(let enc) = a[1],
                  enc == "latin1" || enc == "latin-1" else { throw err("_codecs.encode with unexpected arguments") }
            push(.bytes(Data(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })))
        default:
            throw EmberIOError(.forbiddenGlobal, "refused call of \(callee): allowed as a name, not callable")
        }
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard let items = v.elements else { throw err("\(what) is not a tuple") }
        return try items.map {
            guard case .int(let i) = $0 else { throw err("\(what) holds a non-integer") }
            return Int(i)
        }
    }

    private func rebuildTensor(_ storage: PickleValue, _ offset: PickleValue, _ size: PickleValue,
                               _ stride: PickleValue, _ requiresGrad: Bool) throws -> TensorRecord {
        guard case .storage(let record) = storage else { throw err("tensor storage is not a storage") }
        guard case .int(let off) = offset else { throw err("storage offset is not an integer") }
        return try TensorRecord(storage: record, shape: try ints(size, "size"), strides: try ints(stride, "stride"),
                                storageOffset: Int(off), requiresGrad: requiresGrad)
    }

    private mutating func build(_ target: PickleValue, _ stateItem: Item) throws {
        let state = stateItem.value
        switch target {
        case .dict(let d):
            guard case .dict(let s) = state else { throw err("BUILD state for a dict is not a dict") }
            // Attributes nest like items: a chain of dicts linked by BUILD counts toward the depth limit,
            // and a dict already inside another container keeps its (checked) depth.
            guard !d.isContained else { throw err("BUILD on a dict already placed in another container") }
            let d2 = depth(stateItem)
            guard d2 <= limits.maxDepth else {
                throw EmberIOError(.limitExceeded, "pickle nesting deeper than \(limits.maxDepth) levels")
            }
            d.depth = max(d.depth, d2)
            for (k, v) in s.items {
                guard case .string(let name) = k else { throw err("BUILD attribute name is not a string") }
                d.attributes[name] = v
            }
        case .tensor:
            // `_rebuild_from_type_v2` state: Python attributes of a tensor subclass; nothing to keep.
            break
        default:
            throw err("BUILD on an object that takes no state")
        }
    }

    private func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count == 5 || t.count == 6, case .string("storage") = t[0] else {
            throw EmberIOError(.invalidStorage, "unexpected persistent id (expected ('storage', type, key, location, numel))")
        }
        guard case .global(let module, let typeName) = t[1], module == "torch" else {
            throw EmberIOError(.invalidStorage, "persistent id does not name a torch storage class")
        }
        guard case .string(let key) = t[2], case .string(let location) = t[3], case .int(let numel) = t[4] else {
            throw EmberIOError(.invalidStorage, "persistent id fields have the wrong types")
        }
        if t.count == 6, case .none = t[5] {} else if t.count == 6 {
            throw EmberIOError(.invalidStorage, "storage '\(key)': legacy storage views are not supported")
        }
        guard numel >= 0 else { throw EmberIOError(.invalidStorage, "storage '\(key)': negative element count \(numel)") }
        if PickleAllowlist.supportedStorage(typeName) == nil {
            let what = PickleAllowlist.unsupportedStorages[typeName] ?? "unknown"
            return .unsupported("storage '\(key)' of type torch.\(typeName) (\(what))")
        }
        return try resolveStorage(PersistentStorageID(typeName: typeName, key: key, location: location,
                                                      elementCount: Int(numel)))
    }
}
