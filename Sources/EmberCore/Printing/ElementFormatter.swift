import Foundation

/// The printed text of each element (unpadded) and the column width they share.
///
/// Mirrors `torch/_tensor_str.py` `_Formatter`: the width is decided only by the values it is given
/// (the summarised ones when the tensor is summarised), every cell is right-aligned to it, and a cell
/// longer than the width (e.g. `-0.0000` when only `0.5` is non-zero) is left unpadded.
struct ElementCells {
    var cells: [String]
    var width: Int

    /// The cell right-aligned to ``width`` (`(max_width - len(ret)) * " " + ret`).
    @inline(__always)
    func padded(_ index: Int) -> String {
        let cell = cells[index]
        let missing = width - cell.utf8.count
        return missing > 0 ? String(repeating: " ", count: missing) + cell : cell
    }
}

extension ElementCells {
    /// `_Formatter` for floating dtypes.
    ///
    /// Among the non-zero finite values: if all are integers ("int mode") they print as `2.`;
    /// scientific notation is used when max/min > 1000, max > 1e8 or min < 1e-4 (absolute values,
    /// compared in float64), unless `options.sciMode` forces it. With no non-zero finite value the
    /// tensor prints in int mode with width 1 (`0.`, `nan`, `inf`). The width is the longest cell
    /// among the non-zero finite values; zeros and non-finite values never widen a column.
    init(floating values: [Double], options: PrintOptions) {
        var intMode = true
        var anyNonzeroFinite = false
        var minAbs = Double.infinity
        var maxAbs = 0.0
        values.withUnsafeBufferPointer { buffer in
            for v in buffer where v.isFinite && v != 0 {
                anyNonzeroFinite = true
                let a = abs(v)
                if a < minAbs { minAbs = a }
                if a > maxAbs { maxAbs = a }
                if intMode && v != v.rounded(.up) { intMode = false }
            }
        }
        let sciMode: Bool
        if anyNonzeroFinite {
            sciMode = options.sciMode ?? (maxAbs / minAbs > 1000.0 || maxAbs > 1.0e8 || minAbs < 1.0e-4)
        } else {
            // `_Formatter.__init__` returns early: int mode, no sci mode, width 1.
            sciMode = false
            intMode = true
        }
        let precision = options.precision
        var cells = [String]()
        cells.reserveCapacity(values.count)
        var width = 1
        for v in values {
            let cell: String
            if sciMode {
                cell = formatDouble(v, precision: precision, scientific: true)
            } else if intMode {
                // Python `f"{value:.0f}"` plus a "." that marks a floating dtype; not after nan/inf.
                let digits = formatDouble(v, precision: 0, scientific: false)
                cell = v.isFinite ? digits + "." : digits
            } else {
                cell = formatDouble(v, precision: precision, scientific: false)
            }
            if v.isFinite && v != 0 { width = max(width, cell.utf8.count) }
            cells.append(cell)
        }
        self.init(cells: cells, width: width)
    }

    /// `_Formatter` for integer dtypes: `str(value)`, width of the longest.
    init(integer values: [Int64]) {
        var width = 1
        let cells = values.map { v -> String in
            let s = String(v)
            width = max(width, s.utf8.count)
            return s
        }
        self.init(cells: cells, width: width)
    }

    /// `_Formatter` for bool: Python's `True` / `False`, so `True` is padded to ` True` beside a `False`.
    init(boolean values: [Bool]) {
        let cells = values.map { $0 ? "True" : "False" }
        let width = values.contains(false) ? 5 : (values.isEmpty ? 1 : 4)
        self.init(cells: cells, width: width)
    }
}

/// Python's `format(value, ".{precision}f")` or `".{precision}e"`: correctly rounded (C `printf`
/// and Python's dtoa agree on the exact binary value), two-digit minimum exponent (`1.0000e-05`),
/// and `nan` / `inf` / `-inf` spelled as Python does (C would print `-nan` for a negative NaN).
func formatDouble(_ value: Double, precision: Int, scientific: Bool) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    let format = scientific ? "%.*e" : "%.*f"
    let p = Int32(clamping: precision)
    // Most cells fit in 64 bytes; `%.f` of a huge value (1e300) needs more, so retry at the exact size.
    let needed = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> (String?, Int) in
        let n = Int(withVaList([p, value]) { vsnprintf(buffer.baseAddress, 64, format, $0) })
        guard n < 64 else { return (nil, n) }
        return (decodeASCII(UnsafeBufferPointer(rebasing: buffer[..<n])), n)
    }
    if let text = needed.0 { return text }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: needed.1 + 1) { buffer in
        let n = Int(withVaList([p, value]) { vsnprintf(buffer.baseAddress, needed.1 + 1, format, $0) })
        return decodeASCII(UnsafeBufferPointer(rebasing: buffer[..<n]))
    }
}

@inline(__always)
private func decodeASCII(_ chars: UnsafeBufferPointer<CChar>) -> String {
    chars.withMemoryRebound(to: UInt8.self) { String(decoding: $0, as: UTF8.self) }
}
