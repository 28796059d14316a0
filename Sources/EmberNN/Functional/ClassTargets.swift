import EmberCore

/// Class-index targets checked against `[N, C]`, `[C]` or `[N, C, d1, …]` scores, as PyTorch's
/// `nll_loss_nd` checks them; shared by ``crossEntropy(_:_:ignoreIndex:reduction:)`` and
/// ``nllLoss(_:_:ignoreIndex:reduction:)``.
struct ClassTargets {
    /// Targets flattened to one per row of the `[rows, classes]` score matrix.
    let indices: [Int64]
    let rows: Int
    let classes: Int
    /// Shape of the unreduced loss: `[N]`, `[]` for unbatched `[C]` input, or `[N, d1, …]`.
    let lossShape: [Int]
    /// `NllLossBackward0`, or `NllLoss2DBackward0` for inputs with spatial dimensions.
    let nodeName: String

    /// Checks shapes and dtypes, raising PyTorch's errors (ValueError for the batch size, RuntimeError
    /// for target dtype/shape, IndexError for an out-of-range class) and returning nil after one.
    init?(input: Tensor, target: Tensor, ignoreIndex: Int, kernelName: String) {
        if input.ndim < 1 {
            EmberError(.value, "Expected 1 or more dimensions (got 0)").raise(); return nil
        }
        if input.ndim != 1 && (target.ndim == 0 || input.shape[0] != target.shape[0]) {
            EmberError(.value, "Expected input batch_size (\(input.shape[0])) to match target batch_size (\(target.ndim == 0 ? 1 : target.shape[0])).").raise()
            return nil
        }
        if input.ndim <= 2 && target.ndim > 1 {
            EmberError(.runtime, "0D or 1D target tensor expected, multi-target not supported").raise(); return nil
        }
        if input.ndim == 1 && target.ndim != 0 {
            EmberError(.runtime, "size mismatch (got input: [\(input.shape[0])], target: [\(target.shape.map(String.init).joined(separator: ", "))])").raise()
            return nil
        }
        if input.ndim >= 3 {
            let expected = [input.shape[0]] + Array(input.shape[2...])
            if target.shape != expected {
                EmberError(.runtime, "Expected target size [\(expected.map(String.init).joined(separator: ", "))], got [\(target.shape.map(String.init).joined(separator: ", "))]").raise()
                return nil
            }
        }
        if target.dtype != .int64 && target.dtype != .uint8 {
            EmberError(.runtime, "expected target dtype to be Long or Byte, but got \(target.dtype.scalarTypeName)").raise()
            return nil
        }
        if !input.isFloatingPoint {
            EmberError(.notImplemented, "\"\(kernelName)\" not implemented for '\(input.dtype.scalarTypeName)'").raise()
            return nil
        }
        classes = input.ndim == 1 ? input.shape[0] : input.shape[1]
        rows = target.numel
        switch input.ndim {
        case 1: lossShape = []
        case 2: lossShape = [input.shape[0]]
        default: lossShape = target.shape
        }
        nodeName = input.ndim >= 3 ? "NllLoss2DBackward0" : "NllLossBackward0"
        if target.isMeta || input.isMeta { indices = Array(repeating: Int64(ignoreIndex), count: rows); return }
        indices = target.toInt64s()
        for t in indices where t != Int64(ignoreIndex) && (t < 0 || t >= Int64(classes)) {
            EmberError(.index, "Target \(t) is out of bounds.").raise()
            return nil
        }
    }

    /// `input` as a contiguous `[rows, classes]` matrix (class dimension moved last); autograd
    /// carries the rows' gradient back to `input`'s layout.
    static func rowMatrix(_ input: Tensor) -> Tensor {
        switch input.ndim {
        case 1: return input.reshape([1, input.shape[0]]).contiguous()
        case 2: return input.contiguous()
        default:
            let perm = [0] + Array(2..<input.ndim) + [1]
            return input.permute(perm).contiguous().reshape([-1, input.shape[1]])
        }
    }
}
