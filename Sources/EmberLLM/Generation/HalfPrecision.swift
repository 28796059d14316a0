import EmberCore
import EmberNN

/// Half-precision inference for the book's GPT model: parameters stored in bfloat16 or float16,
/// arithmetic in float32 inside the kernels (PyTorch's semantics for `model.to(torch.bfloat16)`
/// on the CPU: each op computes in float32 and rounds its result to the tensor's dtype).
///
/// Batch-1 decoding reads every weight once per token, so its speed is the memory bandwidth
/// divided by the weights' bytes: 16-bit weights halve that (EmberCore's `HalfWeightGEMM`).
public enum InferenceDType {
    /// The dtype for a command-line name: `f32`/`float32`/`float`, `bf16`/`bfloat16`,
    /// `f16`/`float16`/`half`; nil for anything else.
    public static func named(_ name: String) -> DType? {
        switch name.lowercased() {
        case "f32", "fp32", "float32", "float": return .float32
        case "bf16", "bfloat16": return .bfloat16
        case "f16", "fp16", "float16", "half": return .float16
        default: return nil
        }
    }

    /// The largest `|a − b|` over all elements, computed in float64 (`(a - b).abs().max()`).
    /// - Parameters: `a`, `b` floating tensors of the same shape, any floating dtypes.
    public static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
        noGrad { (a.to(.float64) - b.to(.float64)).abs().max().item() }
    }
}

extension GPTModel {
    /// Casts the model's floating-point parameters and buffers to `dtype` in place
    /// (`Module.to(_:)` with a dtype) for generation, and — when `idx` is given — measures what that
    /// costs: the largest `|logit(dtype) − logit(float32)|` over every position of `model(idx)`.
    /// - Parameters:
    ///   - dtype: `.bfloat16`, `.float16` or `.float32`.
    ///   - idx: token ids `[B, T]` int64 to compare the logits on (`[B, T, vocab]`), or nil.
    /// - Returns: the max logit difference, or nil when `idx` is nil.
    /// Call on a float32 model (the comparison's reference is the model before the cast).
    @discardableResult
    public func castForInference(to dtype: DType, comparingLogitsOn idx: Tensor? = nil) -> Double? {
        eval()
        let reference = idx.map { idx in noGrad { self(idx) } }
        to(dtype)
        guard let idx, let reference else { return nil }
        let cast = noGrad { self(idx) }
        return InferenceDType.maxAbsDifference(reference, cast)
    }
}
