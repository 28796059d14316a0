import EmberCore
import EmberNN
import Foundation

/// What ``trainClassifierSimple(model:trainLoader:valLoader:optimizer:device:numEpochs:evalFreq:evalIter:log:afterStep:)``
/// returns: the book's `train_losses, val_losses, train_accs, val_accs, examples_seen`.
public struct ClassifierTrainingLog: Codable, Equatable, Sendable {
    /// The evaluations: losses, examples seen (in `tokensSeen`), steps and epochs.
    public var losses: TrainingLog
    /// Training accuracy on `evalIter` batches after each epoch.
    public var trainAccs: [Double]
    /// Validation accuracy on `evalIter` batches after each epoch.
    public var valAccs: [Double]
    /// Examples trained on (`examples_seen`).
    public var examplesSeen: Int

    public init(losses: TrainingLog = TrainingLog(), trainAccs: [Double] = [], valAccs: [Double] = [], examplesSeen: Int = 0) {
        self.losses = losses
        self.trainAccs = trainAccs
        self.valAccs = valAccs
        self.examplesSeen = examplesSeen
    }
}

/// The book's accuracy line after each epoch (chapter 6 §6.7):
/// `Training accuracy: 81.25% | Validation accuracy: 43.75%`.
public func classifierAccuracyLine(train: Double, validation: Double) -> String {
    String(format: "Training accuracy: %.2f%% | Validation accuracy: %.2f%%", train * 100, validation * 100)
}

/// The book's `train_classifier_simple` (chapter 6 §6.7) on ``TrainingLoop`` — the loop chapter 5
/// uses, with the classification loss (``calcClassificationLossBatch(_:_:model:device:)``) and
/// examples instead of tokens counted: per epoch `model.train()`, per batch `zero_grad`, loss,
/// `backward`, `step`; every `evalFreq` steps (from step 0) the book's
/// `Ep 1 (Step 000000): Train loss 0.639, Val loss 0.802` on `evalIter` batches of each loader; after
/// each epoch ``calcAccuracyLoader(_:model:device:numBatches:)`` on `evalIter` batches of each and
/// ``classifierAccuracyLine(train:validation:)``. Iterating the loaders draws from the global
/// generator exactly as PyTorch's do, so a seeded run makes the book's batches.
/// - Parameters:
///   - model: prepared by ``GPTModel/prepareForClassification(numClasses:seed:)``; on `device`.
///   - log: receives each printed line (default `print`).
///   - afterStep: called after every optimizer step (and its evaluation), e.g. for a progress bar.
/// - Returns: the losses, accuracies and examples seen.
@discardableResult
public func trainClassifierSimple<D1: Dataset, D2: Dataset>(
    model: GPTModel, trainLoader: DataLoader<D1>, valLoader: DataLoader<D2>, optimizer: some Optimizer,
    device: Device = .cpu, numEpochs: Int, evalFreq: Int, evalIter: Int,
    log: (String) -> Void = { print($0) }, afterStep: (_ epoch: Int, TrainingLoop<GPTModel>.Step) -> Void = { _, _ in }
) -> ClassifierTrainingLog {
    let loop = TrainingLoop(model: model, optimizer: optimizer, device: device, evalFreq: evalFreq, evalIter: evalIter,
                            lossBatch: { calcClassificationLossBatch($0, $1, model: model, device: device) },
                            countSeen: { $0.shape[0] })
    var result = ClassifierTrainingLog()
    for epoch in 0..<numEpochs {
        loop.trainEpoch(epoch, trainLoader: trainLoader, valLoader: valLoader, log: log, afterStep: { afterStep(epoch, $0) })
        let trainAccuracy = calcAccuracyLoader(trainLoader, model: model, device: device, numBatches: evalIter)
        let valAccuracy = calcAccuracyLoader(valLoader, model: model, device: device, numBatches: evalIter)
        log(classifierAccuracyLine(train: trainAccuracy, validation: valAccuracy))
        result.trainAccs.append(trainAccuracy)
        result.valAccs.append(valAccuracy)
    }
    result.losses = loop.history
    result.examplesSeen = loop.seen
    return result
}
