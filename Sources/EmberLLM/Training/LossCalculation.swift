import EmberCore
import EmberNN

/// The book's `calc_loss_batch` (chapter 5.1.3): mean cross-entropy of the model's next-token
/// logits against the targets, `cross_entropy(logits.flatten(0, 1), targets.flatten())`.
/// - Parameters: `inputs` and `targets` are `[B, T]` int64 (a ``DataLoader`` batch); `device` is
///   the model's device, where the batch is moved first (the book's `input_batch.to(device)`).
/// - Returns: a 0-dim float32 loss on `device` that records gradients when they are enabled.
public func calcLossBatch(_ inputs: Tensor, _ targets: Tensor, model: some UnaryLayer, device: Device = .cpu) -> Tensor {
    let inputs = inputs.to(device), targets = targets.to(device)
    let logits = model(inputs)                                          // (B, T, vocab)
    return crossEntropy(logits.flatten(0, 1), targets.flatten())        // (B·T, vocab) vs (B·T)
}

/// The book's `calc_loss_loader` (chapter 5.1.3): the average of ``calcLossBatch(_:_:model:device:)``
/// over the first `numBatches` batches of one pass over `loader` (all batches when nil; at most
/// `loader.count`). Iterating the loader makes its usual random draws (see ``DataLoader``).
/// - Returns: the mean loss as a Double, or NaN for an empty loader (as the book).
public func calcLossLoader<D: Dataset>(_ loader: DataLoader<D>, model: some UnaryLayer, device: Device = .cpu, numBatches: Int? = nil) -> Double {
    calcLossLoader(loader, numBatches: numBatches) { calcLossBatch($0, $1, model: model, device: device) }
}

/// `calc_loss_loader` with another batch loss (chapter 6's classification loss, for one): the
/// average of `lossBatch(inputs, targets).item()` over the first `numBatches` batches of one pass
/// over `loader` (all when nil; at most `loader.count`).
/// - Returns: the mean loss as a Double, or NaN for an empty loader (as the book).
public func calcLossLoader<D: Dataset>(_ loader: DataLoader<D>, numBatches: Int? = nil,
                                       lossBatch: (Tensor, Tensor) -> Tensor) -> Double {
    guard loader.count > 0 else { return .nan }
    let n = Swift.min(numBatches ?? loader.count, loader.count)
    var totalLoss = 0.0
    for (i, (inputs, targets)) in loader.enumerated() {
        guard i < n else { break }
        totalLoss += lossBatch(inputs, targets).item()
    }
    return totalLoss / Double(n)
}

/// The book's `evaluate_model` (chapter 5.2): in eval mode and without gradients, the mean loss
/// of the first `evalIter` batches of each loader; the model is back in training mode afterwards.
public func evaluateModel<D1: Dataset, D2: Dataset>(_ model: some Module & UnaryLayer, trainLoader: DataLoader<D1>,
                                                    valLoader: DataLoader<D2>, device: Device = .cpu,
                                                    evalIter: Int) -> (trainLoss: Double, valLoss: Double) {
    evaluateModel(model, trainLoader: trainLoader, valLoader: valLoader, evalIter: evalIter) {
        calcLossBatch($0, $1, model: model, device: device)
    }
}

/// `evaluate_model` with another batch loss (see ``calcLossLoader(_:numBatches:lossBatch:)``).
public func evaluateModel<D1: Dataset, D2: Dataset>(_ model: some Module, trainLoader: DataLoader<D1>,
                                                    valLoader: DataLoader<D2>, evalIter: Int,
                                                    lossBatch: (Tensor, Tensor) -> Tensor) -> (trainLoss: Double, valLoss: Double) {
    model.eval()
    let losses = noGrad {
        (calcLossLoader(trainLoader, numBatches: evalIter, lossBatch: lossBatch),
         calcLossLoader(valLoader, numBatches: evalIter, lossBatch: lossBatch))
    }
    model.train()
    return losses
}
