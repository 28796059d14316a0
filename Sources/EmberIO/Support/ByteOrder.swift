import Foundation

/// Reverses the bytes of every `itemSize`-byte element (big-endian records → little-endian).
/// Source: torch/serialization.py `_load` (byteorder record, `byteswap` on load).
func byteSwapped(_ data: Data, itemSize: Int) -> Data {
    guard itemSize > 1 else { return data }
    var out = Data(data)
    out.withUnsafeMutableBytes { raw in
        let p = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i + itemSize <= p.count {
            var lo = i, hi = i + itemSize - 1
            while lo < hi { p.swapAt(lo, hi); lo += 1; hi -= 1 }
            i += itemSize
        }
    }
    return out
}
