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
        for (name, child) in namedChildren() {
            let childLines = child.description.split(separator: "\n", omittingEmptySubsequences: false)
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
