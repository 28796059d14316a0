import EmberCore
import EmberNN
import Foundation

extension TrainingRun {
    /// Checks the optimizer state just loaded from a checkpoint before a step can use it (PyTorch's
    /// `load_state_dict` checks only the group sizes; a wrong `exp_avg` would fail, or read out of
    /// bounds in a fused kernel, at the first step): every group option is a finite number in range
    /// (`lr`, `weight_decay`, `eps` ≥ 0, both `betas` in [0, 1), `amsgrad`/`maximize` bools), every
    /// state tensor of a parameter has its shape and a floating dtype, `step` is one finite number ≥ 0,
    /// and AdamW's three entries are all there.
    /// - Returns: the first problem as a sentence naming the key (`optimizer_state_dict.state.3.exp_avg
    ///   has shape [4, 8], the parameter has [8, 4]`), or `nil`.
    static func optimizerStateProblem(_ optimizer: Optimizer) -> String? {
        for (gi, g) in optimizer.paramGroups.enumerated() {
            let prefix = "optimizer_state_dict.param_groups[\(gi)]"
            for key in ["lr", "weight_decay", "eps"] {
                guard let v = g.options[key] else { return "\(prefix) has no '\(key)'" }
                guard let d = v.double, d.isFinite, d >= 0 else { return "\(prefix).\(key) is \(describe(v)), not a finite number ≥ 0" }
            }
            guard let betas = g.options["betas"]?.elements, betas.count == 2,
                  betas.allSatisfy({ $0.double.map { $0 >= 0 && $0 < 1 } ?? false }) else {
                return "\(prefix).betas is \(g.options["betas"].map(describe) ?? "missing"), not two numbers in [0, 1)"
            }
            for key in ["amsgrad", "maximize"] {
                if let v = g.options[key], v.bool == nil { return "\(prefix).\(key) is \(describe(v)), not a bool" }
            }
        }
        var index = 0
        for g in optimizer.paramGroups {
            for p in g.params {
                defer { index += 1 }
                guard let s = optimizer.state[ObjectIdentifier(p)] else { continue }
                let prefix = "optimizer_state_dict.state.\(index)"
                for key in ["step", "exp_avg", "exp_avg_sq"] where s[key] == nil { return "\(prefix) has no '\(key)'" }
                for (key, t) in s {
                    if key == "step" {
                        guard t.numel == 1, let step = t.toDoubles().first, step.isFinite, step >= 0 else {
                            return "\(prefix).step is not one finite number ≥ 0 (shape \(t.shape))"
                        }
                        continue
                    }
                    guard t.shape == p.shape else { return "\(prefix).\(key) has shape \(t.shape), the parameter has \(p.shape)" }
                    guard t.isFloatingPoint else { return "\(prefix).\(key) has dtype \(t.dtype), not a floating-point dtype" }
                }
            }
        }
        return nil
    }

    private static func describe(_ v: StateValue) -> String {
        switch v {
        case .string(let s): return "'\(s)'"
        case .double(let d): return "\(d)"
        case .int(let i): return "\(i)"
        case .bool(let b): return "\(b)"
        case .none: return "None"
        default: return "not a number"
        }
    }
}
