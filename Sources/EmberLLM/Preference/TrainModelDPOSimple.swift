import EmberCore
import EmberNN
import Foundation

/// One finished DPO optimizer step, for progress reports.
public struct DPOStep {
    /// The epoch, from 0.
    public var epoch: Int
    /// Steps done in this epoch, from 1.
    public var stepInEpoch: Int
    /// The global step, from 0 (`global_step`).
    public var globalStep: Int
    /// Chosen-sequence tokens of this batch (`batch["chosen"].numel()`).
    public var tokens: Int
    /// The batch's DPO loss before the update (0-dim float32).
    public var loss: Tensor
    /// The batch's mean chosen and rejected rewards (0-dim float32).
    public var chosenRewards: Tensor, rejectedRewards: Tensor
}

/// The notebook's evaluation line: `Ep 1 (Step 000005): Train loss 0.692, Val loss 0.693, Train reward
/// margins 0.050, Val reward margins 0.020`.
public func dpoLogLine(epoch: Int, step: Int, train: DPOLossAverages, val: DPOLossAverages) -> String {
    String(format: "Ep %d (Step %06d): Train loss %.3f, Val loss %.3f, Train reward margins %.3f, Val reward margins %.3f",
           epoch, step, train.loss, val.loss, train.rewardMargin, val.rewardMargin)
}

/// The DPO notebook's `train_model_dpo_simple` (ch. 7 bonus, §5), line for line: per epoch
/// `policy.train()`; per batch `optimizer.zeroGrad()`,
/// ``computeDPOLossBatch(_:policyModel:referenceModel:beta:)`` (two policy passes with gradients, the
/// frozen reference's two under `noGrad`), `backward()`, `optimizer.step()`, count
/// `batch.chosen.numel` tokens; every `evalFreq` steps (from step 0)
/// ``evaluateDPOLossLoader(policyModel:referenceModel:trainLoader:valLoader:beta:evalIter:)``, recorded and
/// logged (``dpoLogLine(epoch:step:train:val:)``); after each epoch a 50-token greedy sample of the
/// policy from `startContext` (``generateAndPrintSample(model:tokenizer:device:startContext:log:)``).
/// The reference model is never changed: keep it out of `optimizer` and in eval mode.
/// The notebook's settings: AdamW lr 5e-6, weight decay 0.01, 1 epoch, β 0.1, `evalFreq` 5, `evalIter` 5,
/// `startContext = formatInput(valData[2])`.
/// - Parameters:
///   - device: the models' device (the sample's prompt is moved there; batches must already be there).
///   - log: receives each printed line (default `print`).
///   - shouldStop: asked before every step; true ends training there (the sample is then skipped).
///   - afterStep: called after every step and its evaluation.
/// - Returns: the tracking record.
/// - Throws: what the tokenizer throws while printing samples.
@discardableResult
public func trainModelDPOSimple<D1: Dataset, D2: Dataset>(
    policyModel: GPTModel, referenceModel: GPTModel, trainLoader: BatchLoader<D1, PreferenceBatch>,
    valLoader: BatchLoader<D2, PreferenceBatch>, optimizer: some Optimizer, numEpochs: Int, beta: Double,
    evalFreq: Int, evalIter: Int, startContext: String, tokenizer: GPT2Tokenizer, device: Device = .cpu,
    log: (String) -> Void = { print($0) }, shouldStop: () -> Bool = { false }, afterStep: (DPOStep) -> Void = { _ in }
) throws -> DPOTracking {
    var tracking = DPOTracking()
    var tokensSeen = 0, globalStep = -1
    for epoch in 0..<numEpochs {
        policyModel.train()
        var stepInEpoch = 0
        for batch in trainLoader {
            if shouldStop() { return tracking }
            optimizer.zeroGrad()
            let (loss, chosenRewards, rejectedRewards) = computeDPOLossBatch(batch, policyModel: policyModel,
                                                                             referenceModel: referenceModel, beta: beta)
            loss.backward()
            optimizer.step()
            tokensSeen += batch.chosen.numel
            globalStep += 1
            stepInEpoch += 1
            if globalStep % evalFreq == 0 {
                let result = evaluateDPOLossLoader(policyModel: policyModel, referenceModel: referenceModel, trainLoader: trainLoader,
                                                   valLoader: valLoader, beta: beta, evalIter: evalIter)
                tracking.append(result, tokensSeen: tokensSeen)
                log(dpoLogLine(epoch: epoch + 1, step: globalStep, train: result.train, val: result.val))
            }
            afterStep(DPOStep(epoch: epoch, stepInEpoch: stepInEpoch, globalStep: globalStep, tokens: batch.chosen.numel,
                              loss: loss, chosenRewards: chosenRewards, rejectedRewards: rejectedRewards))
        }
        try generateAndPrintSample(model: policyModel, tokenizer: tokenizer, device: device, startContext: startContext, log: log)
    }
    return tracking
}
