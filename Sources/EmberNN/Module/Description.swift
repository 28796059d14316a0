import EmberCore

/// Module descriptions printed as PyTorch prints modules (`print(model)`):
/// ```
/// CausalAttention(
///   (W_query): Linear(in_features=3, out_features=2, bias=False)
///   (dropout): Dropout(p=0.0, inplace=False)
/// )
/// ```
extension Module: CustomStringConvertible {
    public var description: String {
        var lines: [String] = []
        let extra = extraRepr
        if !extra.isEmpty { lines += extra.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        var entries = namedChildren().map { (name: $0.0, repr: $0.1.description) }
        // PyTorch ≥ 2.0 prints runs of identical ModuleList items once: `(0-11): 12 x Block(...)`.
        if self is ModuleList {
            var runs: [(first: String, last: String, count: Int, repr: String)] = []
            for e in entries {
                if let r = runs.last, r.repr == e.repr { runs[runs.count - 1] = (r.first, e.name, r.count + 1, r.repr) }
                else { runs.append((e.name, e.name, 1, e.repr)) }
            }
            entries = runs.map { $0.count == 1 ? ($0.first, $0.repr) : ("\($0.first)-\($0.last)", "\($0.count) x \($0.repr)") }
        }
        for (name, repr) in entries {
            let childLines = repr.split(separator: "\n", omittingEmptySubsequences: false)
            let indented = ([String(childLines[0])] + childLines.dropFirst().map { "  " + $0 }).joined(separator: "\n")
            lines.append("(\(name)): \(indented)")
        }
        if lines.isEmpty { return "\(typeName)()" }
        if lines.count == 1 && namedChildren().isEmpty { return "\(typeName)(\(lines[0]))" }
        return "\(typeName)(\n" + lines.map { "  " + $0 }.joined(separator: "\n") + "\n)"
    }
}

/// Formats a Python float as `repr` does for simple values (`0.0`, `0.1`, `1e-05`).
func pythonFloat(_ x: Double) -> String {
    if x == x.rounded() && Swift.abs(x) < 1e16 { return String(format: "%.1f", x) }
    let s = "\(x)"
    // Swift prints 1e-05 as "1e-05"; Python too.
    return s
}

import Foundation
