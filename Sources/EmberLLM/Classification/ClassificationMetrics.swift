import EmberCore
import EmberNN

/// Chapter 6's `calc_loss_batch` (§6.6): cross-entropy of the last token's logits against the labels,
/// `cross_entropy(model(input_batch)[:, -1, :], target_batch)`.
/// - Parameters: `inputs` `[B, T]` int64, `targets` `[B]` int64 class labels (a loader batch);
///   `device` is the model's device, where the batch is moved first.
/// - Returns: a 0-dim float32 loss that records gradients when they are enabled.
public func calcClassificationLossBatch(_ inputs: Tensor, _ targets: Tensor, model: GPTModel, device: Device = .cpu) -> Tensor {
    let logits = model.lastTokenLogits(inputs.to(device))                                    // (B, numClasses)
    return crossEntropy(logits, targets.to(device))
}

/// Chapter 6's `calc_loss_loader` (§6.6): the mean of ``calcClassificationLossBatch(_:_:model:device:)``
/// over the first `numBatches` batches of one pass over `loader` (all when nil). Gradients are
/// recorded unless the caller runs it under `noGrad` (the book wraps its calls in `torch.no_grad()`).
/// - Returns: the mean loss, or NaN for an empty loader (as the book).
public func calcClassificationLossLoader<D: Dataset>(_ loader: DataLoader<D>, model: GPTModel, device: Device = .cpu,
                                                     numBatches: Int? = nil) -> Double {
    calcLossLoader(loader, numBatches: numBatches) { calcClassificationLossBatch($0, $1, model: model, device: device) }
}

/// Chapter 6's `calc_accuracy_loader` (§6.6): `model.eval()`, then over the first `numBatches`
/// batches of one pass over `loader` (all when nil; at most `loader.count`) the share of examples
/// whose last-token argmax (the first maximum, as `torch.argmax`) equals the label, computed without
/// gradients. The model is left in eval mode, as the book's function leaves it.
/// - Returns: correct / examples in `0...1` (NaN when no example is seen; the book divides by zero).
public func calcAccuracyLoader<D: Dataset>(_ loader: DataLoader<D>, model: GPTModel, device: Device = .cpu,
                                           numBatches: Int? = nil) -> Double {
    model.eval()
    let n = Swift.min(numBatches ?? loader.count, loader.count)
    var correct = 0, examples = 0
    for (i, (inputs, targets)) in loader.enumerated() {
        guard i < n else { break }
        let predicted = noGrad { model.lastTokenLogits(inputs.to(device)).argmax(-1) }      // (B,)
        examples += predicted.shape[0]
        correct += Int((predicted == targets.to(device)).sum().item())
    }
    return examples > 0 ? Double(correct) / Double(examples) : .nan
}
