/// Prints a tensor exactly as PyTorch's `repr(tensor)` / `print(tensor)` does.
///
/// Layout (`torch/_tensor_str.py`, PyTorch 2.x):
/// - `tensor(` prefix; nested rows are indented one column per level under the first `[`
///   (7 spaces for the second row of a matrix), rows joined with `,\n` plus one blank line per
///   dimension above the last two.
/// - Elements share one column width (see ``PrintOptions``); the last dimension wraps after
///   `floor((linewidth - indent) / (width + 2))` elements.
/// - Above `threshold` elements, every dimension longer than `2 * edgeitems` keeps its first and last
///   `edgeitems` entries with `...` between; widths are computed from the kept entries only.
/// - Empty: `tensor([])`, `tensor([], size=(0, 3))`; 0-d: `tensor(1.8524)`; meta:
///   `tensor(..., device='meta', size=(2, 6, 2))`.
/// - Suffixes in PyTorch's order: `device=`, `size=`, `dtype=` (omitted for float32, int64, bool on a
///   non-empty tensor; an empty or meta tensor omits it only for float32), then `grad_fn=<...>` or
///   `requires_grad=True`. A suffix that would pass `linewidth` starts a new line indented 7.
/// - `Parameter containing:\n` before a parameter.
///
/// - Parameters:
///   - input: shape, dtype, values (all of them, or only the summarised ones; see
///     ``TensorPrintValues``), device and autograd state.
///   - options: print options; read ``PrintOptions/current`` once and pass the same value to
///     ``PrintOptions/summarizedIndices(shape:)`` when gathering summarised values.
/// - Returns: the text without a trailing newline.
/// - Precondition: `values.count` is the element count or the summarised count (except for meta
///   tensors), and no size is negative.
public func formatTensor(_ input: TensorPrintInput, options: PrintOptions = .current) -> String {
    let prefix = "tensor("
    let indent = prefix.utf8.count
    let shape = input.shape
    precondition(shape.allSatisfy { $0 >= 0 }, "formatTensor: negative size in \(shape)")
    let numel = shape.reduce(1, *)
    var suffixes: [String] = []
    let body: String

    // Note [Print tensor device] in _tensor_str.py: the default device (cpu) is never printed.
    if input.device != .cpu { suffixes.append("device='\(input.device)'") }

    if input.device == .meta {
        suffixes.append("size=" + sizeTuple(shape))
        if input.dtype != .float32 { suffixes.append("dtype=" + input.dtype.torchName) }
        body = "..."
    } else if numel == 0 {
        // NumPy-style: the shape is shown unless it is (0,); no element tells the dtype.
        if shape.count != 1 { suffixes.append("size=" + sizeTuple(shape)) }
        if input.dtype != .float32 { suffixes.append("dtype=" + input.dtype.torchName) }
        body = "[]"
    } else {
        if options.edgeitems == 0 { suffixes.append("size=" + sizeTuple(shape)) }
        if input.dtype != .float32 && input.dtype != .int64 && input.dtype != .bool {
            suffixes.append("dtype=" + input.dtype.torchName)
        }
        body = tensorBody(shape: shape, numel: numel, values: input.values, indent: indent, options: options)
    }

    if let gradFn = input.gradFnName {
        suffixes.append("grad_fn=<\(gradFn)>")
    } else if input.requiresGrad {
        suffixes.append("requires_grad=True")
    }

    let text = appendSuffixes(prefix + body, suffixes, indent: indent, linewidth: options.linewidth)
    return input.isParameter ? "Parameter containing:\n" + text : text
}

/// `str(torch.Size(shape))`, e.g. `torch.Size([2, 6, 2])`, `torch.Size([])` for a 0-d tensor.
public func formatSize(_ shape: [Int]) -> String {
    "torch.Size([" + shape.map(String.init).joined(separator: ", ") + "])"
}

extension PrintOptions {
    /// The indices along each dimension that a summarised print shows, or nil when the tensor with
    /// this shape prints in full (at most `threshold` elements, or 0-d).
    ///
    /// A dimension longer than `2 * edgeitems` keeps `0..<edgeitems` and the last `edgeitems`
    /// indices; others keep all. The printed values are those on this grid, in row-major order
    /// (`torch/_tensor_str.py` `get_summarized_data`). With `edgeitems == 0` nothing is kept.
    public func summarizedIndices(shape: [Int]) -> [[Int]]? {
        let numel = shape.reduce(1, *)
        guard !shape.isEmpty, numel > threshold else { return nil }
        return shape.map { size in
            guard size > 2 * edgeitems else { return Array(0..<size) }
            return Array(0..<edgeitems) + Array((size - edgeitems)..<size)
        }
    }
}

// MARK: - Body

/// The bracketed values (`_tensor_str`), for a non-empty tensor that is not on the meta device.
private func tensorBody(shape: [Int], numel: Int, values: TensorPrintValues, indent: Int,
                        options: PrintOptions) -> String {
    let kept = options.summarizedIndices(shape: shape)
    let summarize = kept != nil
    if summarize && options.edgeitems == 0 { return "[...]" }
    let keptShape = kept.map { $0.map(\.count) } ?? shape
    let keptCount = keptShape.reduce(1, *)

    // Accept either all values or only the kept ones; gather when given all.
    func pick<T>(_ all: [T]) -> [T] {
        if all.count == keptCount { return all }
        precondition(all.count == numel,
                     "formatTensor: \(all.count) values for shape \(shape) (expected \(numel) or \(keptCount))")
        return gather(all, shape: shape, kept: kept!)
    }
    let cells: ElementCells
    switch values {
    case .floating(let v): cells = ElementCells(floating: pick(v), options: options)
    case .integer(let v): cells = ElementCells(integer: pick(v))
    case .boolean(let v): cells = ElementCells(boolean: pick(v))
    case .none: preconditionFailure("formatTensor: values are required for a tensor not on the meta device")
    }

    if shape.isEmpty { return cells.padded(0) }
    var strides = [Int](repeating: 1, count: keptShape.count)
    for d in stride(from: keptShape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * keptShape[d + 1] }
    let layout = Layout(shape: shape, keptStrides: strides, summarize: summarize, cells: cells, options: options)
    var out = ""
    layout.render(dim: 0, offset: 0, indent: indent, into: &out)
    return out
}

/// The values at the kept grid, row-major: an odometer over the kept indices of each dimension.
private func gather<T>(_ all: [T], shape: [Int], kept: [[Int]]) -> [T] {
    if kept.contains(where: \.isEmpty) { return [] }
    var strides = [Int](repeating: 1, count: shape.count)
    for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
    var result = [T]()
    result.reserveCapacity(kept.reduce(1) { $0 * $1.count })
    var position = [Int](repeating: 0, count: shape.count)
    all.withUnsafeBufferPointer { source in
        while true {
            var offset = 0
            for d in 0..<shape.count { offset += kept[d][position[d]] * strides[d] }
            result.append(source[offset])
            var d = shape.count - 1
            while d >= 0 {
                position[d] += 1
                if position[d] < kept[d].count { break }
                position[d] = 0
                d -= 1
            }
            if d < 0 { break }
        }
    }
    return result
}

/// Recursive bracket layout over the kept values (`_tensor_str_with_formatter`, `_vector_str`).
private struct Layout {
    let shape: [Int]
    let keptStrides: [Int]
    let summarize: Bool
    let cells: ElementCells
    let options: PrintOptions

    /// Whether dimension `d` is cut to its edges with a `...` entry.
    func elided(_ d: Int) -> Bool { summarize && shape[d] > 2 * options.edgeitems }

    /// Kept positions along `d`, with nil where `...` goes.
    func entries(_ d: Int) -> [Int?] {
        let e = options.edgeitems
        if elided(d) { return (0..<e).map { $0 } + [nil] + (e..<(2 * e)).map { $0 } }
        return (0..<shape[d]).map { $0 }
    }

    func render(dim d: Int, offset: Int, indent: Int, into out: inout String) {
        if d == shape.count - 1 {
            renderVector(offset: offset, indent: indent, into: &out)
            return
        }
        // `,` then one newline per remaining dimension beyond the last, then the indent.
        let separator = "," + String(repeating: "\n", count: shape.count - d - 1)
            + String(repeating: " ", count: indent + 1)
        out += "["
        for (i, entry) in entries(d).enumerated() {
            if i > 0 { out += separator }
            if let k = entry {
                render(dim: d + 1, offset: offset + k * keptStrides[d], indent: indent + 1, into: &out)
            } else {
                out += "..."
            }
        }
        out += "]"
    }

    func renderVector(offset: Int, indent: Int, into out: inout String) {
        // Each element takes its width plus ", "; the last dimension wraps at `linewidth`.
        let elementLength = cells.width + 2
        let available = options.linewidth - indent
        let perLine = max(1, available >= 0 ? available / elementLength : -1)
        let stride = keptStrides[keptStrides.count - 1]
        let items = entries(shape.count - 1).map { entry in
            entry.map { cells.padded(offset + $0 * stride) } ?? " ..."
        }
        let lineBreak = ",\n" + String(repeating: " ", count: indent + 1)
        out += "["
        for (i, item) in items.enumerated() {
            if i > 0 { out += i % perLine == 0 ? lineBreak : ", " }
            out += item
        }
        out += "]"
    }
}

// MARK: - Suffixes

/// `_add_suffixes`: each suffix goes on the current line after `, ` unless the line would pass
/// `linewidth`, in which case it starts a new line indented by the prefix length. PyTorch counts the
/// last line as two characters longer than it is (`len - rfind("\n") + 1`); kept for identical breaks.
private func appendSuffixes(_ text: String, _ suffixes: [String], indent: Int, linewidth: Int) -> String {
    var result = text
    let utf8 = text.utf8
    var lastLineLength: Int
    if let newline = utf8.lastIndex(of: UInt8(ascii: "\n")) {
        lastLineLength = utf8.count - utf8.distance(from: utf8.startIndex, to: newline) + 1
    } else {
        lastLineLength = utf8.count + 2
    }
    for suffix in suffixes {
        let length = suffix.utf8.count
        if lastLineLength + length + 2 > linewidth {
            result += ",\n" + String(repeating: " ", count: indent) + suffix
            lastLineLength = indent + length
        } else {
            result += ", " + suffix
            lastLineLength += length + 2
        }
    }
    return result + ")"
}

/// Python's `str(tuple(shape))`: `(2, 6, 2)`, `(5,)`, `()`.
private func sizeTuple(_ shape: [Int]) -> String {
    if shape.count == 1 { return "(\(shape[0]),)" }
    return "(" + shape.map(String.init).joined(separator: ", ") + ")"
}
