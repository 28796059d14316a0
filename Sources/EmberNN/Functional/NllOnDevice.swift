import EmberCore

/// The negative log-likelihood of log-probabilities that live on an accelerator (`logp`
/// `[rows, classes]`): each row's target entry is picked with `index_select` on the flattened
/// matrix, so the logits never travel to the host, and the result is reduced as PyTorch's
/// `nll_loss` (mean over the rows whose target is not `ignoreIndex`; 0/0 = NaN). Autograd runs
/// through `index_select` and the reduction. Source: https://pytorch.org/docs/stable/generated/torch.nn.functional.nll_loss.html
func nllOnDevice(_ logp: Tensor, _ ct: ClassTargets, ignoreIndex: Int, reduction: Reduction) -> Tensor {
    let n = ct.rows, c = ct.classes, ignore = Int64(ignoreIndex)
    var picks = [Int64](), valid = [Float]()
    picks.reserveCapacity(n); valid.reserveCapacity(n)
    for i in 0..<n {
        let keep = ct.indices[i] != ignore
        picks.append(Int64(i * c) + (keep ? ct.indices[i] : 0))
        valid.append(keep ? 1 : 0)
    }
    let dev = logp.device
    let picked = logp.reshape([n * c]).indexSelect(0, Tensor(array: picks, device: dev))
    let perRow = -(picked * Tensor(array: valid, device: dev).to(logp.dtype))
    switch reduction {
    case .none: return perRow.reshape(ct.lossShape)
    case .sum: return perRow.sum()
    case .mean: return perRow.sum() / Double(valid.reduce(0, +))
    }
}

/// Whether a loss over `input` takes the accelerator path: an accelerator tensor of rank 1 or 2.
func lossRunsOnDevice(_ input: Tensor) -> Bool { input.device != .cpu && !input.isMeta && input.ndim <= 2 }
