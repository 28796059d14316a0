import EmberCore
import EmberNN
import Foundation

/// The losses of chapter 5.1.3 (`calc_loss_loader` over the whole training and validation loaders)
/// and their perplexities (exercise 5.5: `torch.exp(loss)`).
public struct LossEvaluation: Sendable, Equatable {
    /// Mean cross-entropy over every training batch (NaN for no batch, as the book).
    public var trainLoss: Double
    /// Mean cross-entropy over every validation batch.
    public var valLoss: Double

    /// `exp(trainLoss)`: the effective number of tokens the model hesitates between.
    public var trainPerplexity: Double { exp(trainLoss) }
    /// `exp(valLoss)`.
    public var valPerplexity: Double { exp(valLoss) }

    /// The book's printout (ch. 5.1.3, Python's `print("Training loss:", train_loss)`: the shortest
    /// digits that read back as the same double) and the two perplexities.
    public var lines: [String] {
        ["Training loss: \(trainLoss)", "Validation loss: \(valLoss)",
         "Training perplexity: \(trainPerplexity)", "Validation perplexity: \(valPerplexity)"]
    }

    /// - Parameters: the two mean losses.
    public init(trainLoss: Double, valLoss: Double) {
        self.trainLoss = trainLoss
        self.valLoss = valLoss
    }
}

/// Chapter 5.1.3's evaluation of a model on a text: ``PretrainingLoaders`` over `text`, then
/// `torch.manual_seed(seed)` ("for reproducibility due to the shuffling in the data loader"), and
/// in eval mode without gradients ``calcLossLoader(_:model:device:numBatches:)`` over every batch of
/// the training loader, then of the validation loader.
/// - Parameters:
///   - model: any GPT model; it is left in eval mode. `device` is where it lives (batches go there).
///   - contextLength: window length; ≤ the model's `context_length`.
///   - seed: the global seed before the loaders are iterated (the book: 123).
/// - Throws: ``TrainingError`` for bad sizes or a text with no full window in a split.
public func evaluateLosses(model: GPTModel, text: String, tokenizer: GPT2Tokenizer, contextLength: Int, batchSize: Int = 2,
                           trainRatio: Double = 0.90, device: Device = .cpu, seed: Int = 123) throws(TrainingError) -> LossEvaluation {
    guard contextLength <= model.config.contextLength else {
        throw .invalidSetting("the context length \(contextLength) exceeds the model's context_length \(model.config.contextLength)")
    }
    let loaders = try PretrainingLoaders(text: text, tokenizer: tokenizer, contextLength: contextLength,
                                         batchSize: batchSize, trainRatio: trainRatio)
    model.eval()
    manualSeed(seed)
    let (trainLoss, valLoss) = noGrad {
        (calcLossLoader(loaders.train, model: model, device: device), calcLossLoader(loaders.validation, model: model, device: device))
    }
    return LossEvaluation(trainLoss: trainLoss, valLoss: valLoss)
}
