import EmberCore
import EmberNN

/// The DPO notebook's `compute_logprobs` (ch. 7 bonus, §4): the mean log-probability each row of
/// `logits` gives its own next tokens, `labels[:, 1:]` under `log_softmax(logits[:, :-1])`, averaged
/// over the positions `selectionMask[:, 1:]` keeps (all positions without a mask).
///
/// The picked log-probabilities are `−cross_entropy(…, reduction="none")` of the shifted labels —
/// equal to the notebook's `torch.gather(log_softmax(logits), -1, labels)`, but through the fused
/// cross-entropy kernel, so the `[B, T, V]` log-probabilities (and their gradient) are never
/// materialised; the last position's target is `ignore_index`, so the logits need no copy either.
/// - Parameters:
///   - logits: `[B, T, V]` float32 (the model's output for `labels`).
///   - labels: `[B, T]` int64 token ids.
///   - selectionMask: `[B, T]` bool (or 0/1) mask, or nil.
/// - Returns: `[B]` float32: `Σ_t logp_t · mask_t / Σ_t mask_t` over `t = 1..<T` (NaN for a row whose
///   mask is all false, as the notebook's 0/0); records gradients when `logits` does.
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/ch07/04_preference-tuning-with-dpo/dpo-from-scratch.ipynb
public func computeLogprobs(logits: Tensor, labels: Tensor, selectionMask: Tensor? = nil) -> Tensor {
    let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
    // Targets: labels shifted left by one; the last position (no next token) is ignored.
    let shifted = Tensor.cat([labels.narrow(1, start: 1, length: t - 1).to(.int64),
                              Tensor.full([b, 1], -100, dtype: .int64, device: labels.device)], dim: 1)   // [B, T]
    let picked = -crossEntropy(logits.reshape([b * t, v]), shifted.reshape([b * t]), reduction: .none)     // [B·T]
    let selected = picked.reshape([b, t]).narrow(1, start: 0, length: t - 1)                                // [B, T-1]
    guard let selectionMask else { return selected.mean(-1) }                                              // [B]
    let mask = selectionMask.narrow(1, start: 1, length: t - 1).to(selected.dtype)                         // [B, T-1]
    return (selected * mask).sum(-1) / mask.sum(-1)                                                        // [B]
}

/// The DPO loss of a batch, the notebook's `compute_dpo_loss` (Rafailov et al. 2023, eq. 7,
/// https://arxiv.org/abs/2305.18290): with `π` the policy's and `ref` the reference's mean
/// log-probabilities, `loss = mean(−logsigmoid(β · ((π_c − π_r) − (ref_c − ref_r))))`.
/// The rewards are the notebook's progress values, **not** multiplied by β:
/// `chosenRewards = mean(π_c − ref_c)`, `rejectedRewards = mean(π_r − ref_r)` (detached).
/// Policy = reference gives exactly `float32(ln 2)` = 0.6931471824645996 and zero rewards.
/// - Parameters: four `[B]` float32 tensors of mean log-probabilities (``computeLogprobs(logits:labels:selectionMask:)``);
///   `beta` (the notebook's 0.1; 0.1–0.5 is usual).
/// - Returns: three 0-dim float32 tensors; only the loss records gradients.
public func computeDPOLoss(policyChosenLogprobs: Tensor, policyRejectedLogprobs: Tensor,
                           referenceChosenLogprobs: Tensor, referenceRejectedLogprobs: Tensor,
                           beta: Double = 0.1) -> (loss: Tensor, chosenRewards: Tensor, rejectedRewards: Tensor) {
    let modelLogratios = policyChosenLogprobs - policyRejectedLogprobs
    let referenceLogratios = referenceChosenLogprobs - referenceRejectedLogprobs
    let logits = modelLogratios - referenceLogratios
    let losses = -(logits * beta).logSigmoid()
    let chosenRewards = (policyChosenLogprobs - referenceChosenLogprobs).detach()
    let rejectedRewards = (policyRejectedLogprobs - referenceRejectedLogprobs).detach()
    return (losses.mean(), chosenRewards.mean(), rejectedRewards.mean())
}

/// The notebook's `compute_dpo_loss_batch`: the policy's log-probabilities of the chosen and the
/// rejected texts (two forward passes that record gradients when enabled), the reference's under
/// `noGrad` (computed once per batch, never differentiated), then ``computeDPOLoss(policyChosenLogprobs:policyRejectedLogprobs:referenceChosenLogprobs:referenceRejectedLogprobs:beta:)``.
/// - Parameters: `batch` on the models' device (``preferenceCollate(_:padTokenId:allowedMaxLength:maskPromptTokens:device:)``'s `device`).
/// - Returns: the loss and the mean chosen and rejected rewards (0-dim float32).
public func computeDPOLossBatch(_ batch: PreferenceBatch, policyModel: GPTModel, referenceModel: GPTModel,
                                beta: Double) -> (loss: Tensor, chosenRewards: Tensor, rejectedRewards: Tensor) {
    let policyChosen = computeLogprobs(logits: policyModel(batch.chosen), labels: batch.chosen, selectionMask: batch.chosenMask)
    let policyRejected = computeLogprobs(logits: policyModel(batch.rejected), labels: batch.rejected, selectionMask: batch.rejectedMask)
    let (referenceChosen, referenceRejected) = noGrad {
        (computeLogprobs(logits: referenceModel(batch.chosen), labels: batch.chosen, selectionMask: batch.chosenMask),
         computeLogprobs(logits: referenceModel(batch.rejected), labels: batch.rejected, selectionMask: batch.rejectedMask))
    }
    return computeDPOLoss(policyChosenLogprobs: policyChosen, policyRejectedLogprobs: policyRejected,
                          referenceChosenLogprobs: referenceChosen, referenceRejectedLogprobs: referenceRejected, beta: beta)
}

/// Averages of ``computeDPOLossBatch(_:policyModel:referenceModel:beta:)`` over batches, as the notebook's Python
/// loops compute them (float64 sums of the float32 values, divided by the batch count).
public struct DPOLossAverages: Sendable, Equatable {
    /// Mean DPO loss.
    public var loss: Double
    /// Mean chosen reward.
    public var chosenRewards: Double
    /// Mean rejected reward.
    public var rejectedRewards: Double
    /// `chosenRewards − rejectedRewards`, the notebook's reward margin.
    public var rewardMargin: Double { chosenRewards - rejectedRewards }

    /// The given averages.
    public init(loss: Double, chosenRewards: Double, rejectedRewards: Double) {
        self.loss = loss
        self.chosenRewards = chosenRewards
        self.rejectedRewards = rejectedRewards
    }
}

/// The notebook's `compute_dpo_loss_loader`: the averages over the first `numBatches` batches of one
/// pass over `loader` (all of them when nil or more than it has). Iterating the loader makes its
/// random draws (a base seed; a shuffled one its order), as in PyTorch. Run it under `noGrad` when
/// evaluating (``evaluateDPOLossLoader(policyModel:referenceModel:trainLoader:valLoader:beta:evalIter:)`` does).
/// - Returns: the averages; NaN for all three when the loader has no batch (the notebook returns `nan`).
public func computeDPOLossLoader<D: Dataset>(_ loader: BatchLoader<D, PreferenceBatch>, policyModel: GPTModel,
                                             referenceModel: GPTModel, beta: Double, numBatches: Int? = nil) -> DPOLossAverages {
    guard loader.count > 0 else { return DPOLossAverages(loss: .nan, chosenRewards: .nan, rejectedRewards: .nan) }
    let n = Swift.min(numBatches ?? loader.count, loader.count)
    var total = DPOLossAverages(loss: 0, chosenRewards: 0, rejectedRewards: 0)
    for (i, batch) in loader.enumerated() {
        guard i < n else { break }
        let (loss, chosen, rejected) = computeDPOLossBatch(batch, policyModel: policyModel, referenceModel: referenceModel, beta: beta)
        total.loss += loss.item()
        total.chosenRewards += chosen.item()
        total.rejectedRewards += rejected.item()
    }
    return DPOLossAverages(loss: total.loss / Double(n), chosenRewards: total.chosenRewards / Double(n),
                           rejectedRewards: total.rejectedRewards / Double(n))
}

/// The notebook's `evaluate_dpo_loss_loader`: the policy in eval mode, without gradients,
/// ``computeDPOLossLoader(_:policyModel:referenceModel:beta:numBatches:)`` on the first `evalIter` batches of
/// the training, then the validation loader; the policy is back in training mode afterwards.
/// - Returns: the training and the validation averages.
public func evaluateDPOLossLoader<D1: Dataset, D2: Dataset>(
    policyModel: GPTModel, referenceModel: GPTModel, trainLoader: BatchLoader<D1, PreferenceBatch>,
    valLoader: BatchLoader<D2, PreferenceBatch>, beta: Double, evalIter: Int
) -> (train: DPOLossAverages, val: DPOLossAverages) {
    policyModel.eval()
    defer { policyModel.train() }
    return noGrad {
        (computeDPOLossLoader(trainLoader, policyModel: policyModel, referenceModel: referenceModel, beta: beta, numBatches: evalIter),
         computeDPOLossLoader(valLoader, policyModel: policyModel, referenceModel: referenceModel, beta: beta, numBatches: evalIter))
    }
}
