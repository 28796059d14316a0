import EmberCore

/// The globals a checkpoint pickle may name: PyTorch's `weights_only=True` allowlist, by exact name.
///
/// A GLOBAL or STACK_GLOBAL opcode only *names* something; the reader looks the name up here and either
/// refuses it (``EmberIOError/Kind/forbiddenGlobal``, naming it) or records it as a ``PickleValue/global``.
/// REDUCE then interprets the handful of callables below itself; nothing is imported or executed.
/// Source: torch/_weights_only_unpickler.py (`_get_allowed_globals`), PyTorch 2.x.
enum PickleAllowlist {
    /// Storage classes whose elements Ember can hold (`torch.FloatStorage` → float32, ...).
    static func supportedStorage(_ name: String) -> DType? { DType(storageClassName: name) }

    /// Storage classes PyTorch allows but Ember has no dtype for: refused with a clear message, never guessed.
    static let unsupportedStorages: [String: String] = [
        "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
        "QInt8Storage": "qint8", "QUInt8Storage": "quint8", "QInt32Storage": "qint32",
        "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
        "UntypedStorage": "untyped (no dtype)",
    ]

    static let dtypeNames: Set<String> = [
        "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32",
        "int", "int16", "short", "int8", "uint8", "bool", "complex64", "complex128",
    ]

    /// Callables REDUCE knows how to interpret (each one's meaning is implemented in `Unpickler.reduce`).
    static let callables: Set<String> = [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "torch.Size", "torch.device",
        "_codecs.encode",
    ]

    /// True when `module.name` may appear in a checkpoint.
    static func isAllowed(module: String, name: String) -> Bool {
        if callables.contains("\(module).\(name)") { return true }
        if module == "torch" {
            if supportedStorage(name) != nil || unsupportedStorages[name] != nil { return true }
            if dtypeNames.contains(name) { return true }
        }
        return false
    }
}
