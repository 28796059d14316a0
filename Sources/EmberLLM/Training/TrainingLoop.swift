import EmberCore
import EmberNN
import Foundation

/// The step and the evaluate-and-log block the book's training functions share: chapter 5's
/// `train_model_simple`, chapter 6's `train_classifier_simple` and chapter 7 (which reuses
/// `train_model_simple`) run the same loop and differ only in the loss of a batch, what a batch
/// counts as "seen" (tokens or examples) and what runs after each epoch (a sample, accuracies).
///
/// Per batch: `optimizer.zeroGrad()`, ``lossBatch``, `backward()`, `optimizer.step()`, count the
/// batch; every ``evalFreq`` global steps (from step 0) evaluate on ``evalIter`` batches of each
/// loader in eval mode without gradients (the book's `evaluate_model`), append to ``history`` and
/// log ``formatLine``'s line (`Ep 1 (Step 000000): Train loss 9.783, Val loss 9.927`).
///
/// ```swift
/// // Chapter 6: the classification loss, examples counted instead of tokens.
/// let loop = TrainingLoop(model: model, optimizer: optimizer, evalFreq: 50, evalIter: 5,
///                         lossBatch: { x, y in let logits = model(x); return crossEntropy(logits.select(1, logits.shape[1] - 1), y) },
///                         countSeen: { $0.shape[0] })
/// for epoch in 0..<numEpochs { loop.trainEpoch(epoch, trainLoader: train, valLoader: val); printAccuracy() }
/// ```
public final class TrainingLoop<Model: Module & UnaryLayer> {
    /// One evaluation, as the log line reports it.
    public struct Evaluation: Sendable, Equatable {
        /// The epoch, from 1 (the book's `epoch + 1`).
        public var epoch: Int
        /// The global step (`global_step`, from 0).
        public var step: Int
        /// Mean loss of the first `evalIter` training batches.
        public var trainLoss: Double
        /// Mean loss of the first `evalIter` validation batches.
        public var valLoss: Double
        /// Tokens (or examples) seen so far.
        public var seen: Int
    }

    /// One finished optimizer step, for progress reports.
    public struct Step {
        /// Steps done in this epoch, from 1.
        public var stepInEpoch: Int
        /// The global step, from 0.
        public var globalStep: Int
        /// What this batch added to ``TrainingLoop/seen``.
        public var seen: Int
        /// The batch's loss (0-dim, on the model's device).
        public var loss: Tensor
    }

    /// The model being trained.
    public let model: Model
    /// Steps the model's parameters.
    public let optimizer: Optimizer
    /// The model's device: batches are moved there (by ``lossBatch``).
    public let device: Device
    /// Evaluate every `evalFreq` global steps (`eval_freq`).
    public let evalFreq: Int
    /// Batches of each loader per evaluation (`eval_iter`).
    public let evalIter: Int
    /// The loss of one batch (`calc_loss_batch`): `(inputs, targets)` as the loader yields them → a
    /// 0-dim loss on ``device`` that records gradients when they are enabled.
    public let lossBatch: (Tensor, Tensor) -> Tensor
    /// What a batch adds to ``seen``, from its inputs: tokens (`inputs.numel()`, ch. 5) or examples
    /// (`inputs.shape[0]`, ch. 6).
    public let countSeen: (Tensor) -> Int
    /// The line logged after each evaluation.
    public let formatLine: (Evaluation) -> String

    /// The last optimizer step (from 0; −1 before the first), the book's `global_step`.
    public private(set) var globalStep = -1
    /// Tokens (or examples) trained on, the book's `tokens_seen` / `examples_seen`.
    public private(set) var seen = 0
    /// Every evaluation so far (`seen` in ``TrainingLog/tokensSeen``).
    public private(set) var history = TrainingLog()

    /// - Parameters:
    ///   - lossBatch: nil for the book's next-token loss, ``calcLossBatch(_:_:model:device:)``.
    ///   - countSeen: default: tokens, `inputs.numel`.
    ///   - formatLine: default: the book's ``bookLine(_:)``.
    public init(model: Model, optimizer: Optimizer, device: Device = .cpu, evalFreq: Int, evalIter: Int,
                lossBatch: ((Tensor, Tensor) -> Tensor)? = nil, countSeen: @escaping (Tensor) -> Int = { $0.numel },
                formatLine: @escaping (Evaluation) -> String = TrainingLoop.bookLine) {
        self.model = model
        self.optimizer = optimizer
        self.device = device
        self.evalFreq = evalFreq
        self.evalIter = evalIter
        self.lossBatch = lossBatch ?? { calcLossBatch($0, $1, model: model, device: device) }
        self.countSeen = countSeen
        self.formatLine = formatLine
    }

    /// The book's evaluation line: `Ep 1 (Step 000000): Train loss 9.783, Val loss 9.927`
    /// (`f"Ep {epoch+1} (Step {global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}"`).
    public static func bookLine(_ e: Evaluation) -> String {
        String(format: "Ep %d (Step %06d): Train loss %.3f, Val loss %.3f", e.epoch, e.step, e.trainLoss, e.valLoss)
    }

    /// Continues counting from a saved run (its step, count and log).
    public func restore(globalStep: Int, seen: Int, history: TrainingLog) {
        self.globalStep = globalStep
        self.seen = seen
        self.history = history
    }

    /// Trains one epoch: `model.train()`, then every batch of one pass over `trainLoader` (iterating
    /// makes the loader's draws), evaluating and logging on schedule.
    /// - Parameters:
    ///   - epoch: the epoch, from 0 (logged as `epoch + 1`).
    ///   - log: receives the evaluation lines.
    ///   - shouldStop: asked before every step; true ends the epoch there.
    ///   - skipping: batches of this epoch already trained (an epoch continued part-way): the loader
    ///     still draws its order, then these batches are passed over and, before the first step, the
    ///     global generator is set to `generatorAfterSkip` (where the last trained step left it).
    ///   - afterStep: called after every step (and its evaluation).
    /// - Returns: false when `shouldStop` ended the epoch early.
    @discardableResult
    public func trainEpoch<D1: Dataset, D2: Dataset>(_ epoch: Int, trainLoader: DataLoader<D1>, valLoader: DataLoader<D2>,
                                                     log: (String) -> Void = { print($0) }, shouldStop: () -> Bool = { false },
                                                     skipping: Int = 0, generatorAfterSkip: GeneratorState? = nil,
                                                     afterStep: (Step) -> Void = { _ in }) -> Bool {
        model.train()
        var stepInEpoch = 0, skipped = skipping == 0
        for (inputs, targets) in trainLoader {
            if stepInEpoch < skipping {
                stepInEpoch += 1
                continue
            }
            if !skipped { restore(generatorAfterSkip); skipped = true }
            if shouldStop() { return false }
            optimizer.zeroGrad()
            let loss = lossBatch(inputs, targets)
            loss.backward()
            optimizer.step()
            let batchSeen = countSeen(inputs)
            seen += batchSeen
            globalStep += 1
            stepInEpoch += 1
            if globalStep % evalFreq == 0 { evaluateAndLog(epoch: epoch, trainLoader: trainLoader, valLoader: valLoader, log: log) }
            afterStep(Step(stepInEpoch: stepInEpoch, globalStep: globalStep, seen: batchSeen, loss: loss))
        }
        if !skipped { restore(generatorAfterSkip) }
        return true
    }

    /// Sets the global generator to `state` (a state `getState()` returned, which is always valid).
    private func restore(_ state: GeneratorState?) {
        if let state { try! Generator.default.setState(state) }
    }

    /// The book's evaluation block: ``evaluateModel(_:trainLoader:valLoader:evalIter:lossBatch:)``
    /// with ``lossBatch``, recorded in ``history`` and logged.
    func evaluateAndLog<D1: Dataset, D2: Dataset>(epoch: Int, trainLoader: DataLoader<D1>, valLoader: DataLoader<D2>,
                                                  log: (String) -> Void) {
        let (trainLoss, valLoss) = evaluateModel(model, trainLoader: trainLoader, valLoader: valLoader,
                                                 evalIter: evalIter, lossBatch: lossBatch)
        history.trainLosses.append(trainLoss)
        history.valLosses.append(valLoss)
        history.tokensSeen.append(seen)
        history.steps.append(globalStep)
        history.epochs.append(epoch + 1)
        log(formatLine(Evaluation(epoch: epoch + 1, step: globalStep, trainLoss: trainLoss, valLoss: valLoss, seen: seen)))
    }
}
