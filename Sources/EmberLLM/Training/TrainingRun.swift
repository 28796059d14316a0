import EmberCore
import EmberIO
import EmberNN
import Foundation

/// The book's chapter-5 pretraining run, one epoch at a time, so a caller can checkpoint between
/// epochs, resume from a checkpoint, show progress and stop on request (what `ember train` does).
///
/// The epoch is ``trainModelSimple(model:trainLoader:valLoader:optimizer:device:numEpochs:evalFreq:evalIter:startContext:tokenizer:log:)``'s
/// loop (one ``TrainingLoop``, the same calls in the same order), so the evaluation lines and
/// samples are the book's.
///
/// ```swift
/// let run = try TrainingRun(text: try TrainingText.theVerdict(), settings: .book, tokenizer: .gpt2())
/// while !run.isFinished {
///     _ = try run.runEpoch()
///     try run.writeOutputs(to: URL(fileURLWithPath: "out"))
/// }
/// ```
public final class TrainingRun {
    /// The run's settings (with the total number of epochs).
    public let settings: TrainingSettings
    /// Where the model is trained (the book's `device`): batches are moved there step by step.
    public let device: Device
    /// The model being trained.
    public let model: GPTModel
    /// AdamW over `model.parameters()`.
    public let optimizer: AdamW
    /// The ranks training together (``ProcessGroup/single`` for one process).
    public let group: ProcessGroup
    /// With several ranks: the model wrapped for data-parallel training (gradients averaged over the
    /// ranks in every `backward()`); nil for one process.
    public let dataParallel: DistributedDataParallel<GPTModel>?
    private let trainSampler: DistributedSampler?
    /// GPT-2's tokenizer.
    public let tokenizer: GPT2Tokenizer
    /// Training windows: shuffled, last short batch dropped (the book's `train_loader`).
    public let trainLoader: DataLoader<GPTDatasetV1>
    /// Validation windows: in order, last short batch kept (`val_loader`).
    public let valLoader: DataLoader<GPTDatasetV1>
    /// Epochs completed.
    public private(set) var epochsCompleted = 0
    /// The step and evaluate-and-log block (``TrainingLoop``), with the run's counters.
    public let loop: TrainingLoop<GPTModel>
    /// The last optimizer step (from 0; −1 before the first), the book's `global_step`.
    public var globalStep: Int { loop.globalStep }
    /// Input tokens trained on (`tokens_seen`).
    public var tokensSeen: Int { loop.seen }
    /// Every evaluation so far.
    public var history: TrainingLog { loop.history }
    /// True while an epoch is stopped part-way (``stepsInEpoch`` of its batches trained, or none): the
    /// state is still a checkpoint — ``writeOutputs(to:includingCheckpoint:)`` saves it and the next
    /// ``runEpoch(log:progress:shouldStop:)`` (or a run resumed from it) trains the rest of the epoch,
    /// as the uninterrupted run would have.
    public private(set) var isInterrupted = false
    /// Batches of the current epoch already trained (0 at an epoch boundary).
    public private(set) var stepsInEpoch = 0
    /// The global generator when the current epoch began (nil at an epoch boundary): the loader's
    /// order of a part-way epoch is drawn again from it.
    private var epochStartRNG: GeneratorState?
    /// The global generator where a part-way epoch stopped (nil otherwise): the epoch continues from
    /// it even if the generator was used in between.
    private var stoppedRNG: GeneratorState?

    private var sessionSteps = 0, sessionTokens = 0
    private var sessionStart: ContinuousClock.Instant?

    /// A fresh run in the book's order (ch. 5.2): the loaders (which draw nothing until iterated),
    /// then `torch.manual_seed(seed)`, `GPTModel(config)`, `model.to(device)` and
    /// `AdamW(model.parameters(), …)`. The weights are drawn on the CPU whatever the device, so a seed
    /// gives the same initial model everywhere.
    /// - Parameters:
    ///   - text: the whole text; the first `trainRatio` of its characters train, the rest validate.
    ///   - device: where to train (`.cpu` default); it must be available (``Device/unavailableReason``).
    /// - Throws: ``TrainingError`` for bad settings, an unavailable device, or a text too short for one
    ///   window (or batch).
    ///   - group: the ranks training together (`mpirun -np N`): each trains on its share of every batch
    ///     and gradients are averaged (``DistributedDataParallel``); the default is one process.
    public convenience init(text: String, settings: TrainingSettings, device: Device = .cpu, tokenizer: GPT2Tokenizer,
                            group: ProcessGroup = .single) throws(TrainingError) {
        try self.init(text: text, settings: settings, device: device, tokenizer: tokenizer, weights: nil, group: group)
    }

    /// The fresh run's construction; with `weights` the model is built on `meta` and takes the
    /// checkpoint's tensors (no initialisation drawn), as a resumed run's model.
    private init(text: String, settings: TrainingSettings, device: Device, tokenizer: GPT2Tokenizer,
                 weights: (checkpoint: TrainingCheckpoint, path: String)?, group: ProcessGroup) throws(TrainingError) {
        try settings.validate()
        if device == .meta { throw .invalidSetting("cannot train on the meta device: it holds no values") }
        if let reason = device.unavailableReason { throw .invalidSetting("\(device) is not available: \(reason)") }
        self.device = device
        self.settings = settings
        self.tokenizer = tokenizer
        self.group = group
        let loaders = try PretrainingLoaders(text: text, tokenizer: tokenizer, contextLength: settings.config.contextLength,
                                             batchSize: settings.batchSize, trainRatio: settings.trainRatio,
                                             group: group, seed: settings.seed)
        trainLoader = loaders.train
        valLoader = loaders.validation
        trainSampler = loaders.trainSampler
        guard trainLoader.count > 0 else {
            throw .invalidSetting("the training split has \(trainLoader.dataset.count) window(s) of \(settings.config.contextLength) tokens, fewer than one batch of \(settings.batchSize); lower --batch-size or use a longer text")
        }
        manualSeed(settings.seed)
        if let weights {
            model = try weights.checkpoint.makeModel(config: settings.config, path: weights.path).to(device)
        } else {
            model = GPTModel(settings.config).to(device)
        }
        optimizer = AdamW(model.parameters(), lr: settings.learningRate, weightDecay: settings.weightDecay)
        if group.worldSize > 1 {
            do { dataParallel = try DistributedDataParallel(model, group: group) } catch {
                throw .invalidSetting("data-parallel training over \(group.worldSize) processes cannot start: \(error)")
            }
        } else {
            dataParallel = nil
        }
        loop = TrainingLoop(model: model, optimizer: optimizer, device: device, evalFreq: settings.evalFreq,
                            evalIter: settings.evalIter)
    }

    /// Continues the run saved in `checkpoint` (written by ``writeOutputs(to:includingCheckpoint:)`` after an epoch or on Ctrl-C):
    /// builds it as ``init(text:settings:tokenizer:)`` with the saved settings, then restores the
    /// weights, the optimizer, the global generator, the counters and the log. Trained on the same
    /// text, the remaining epochs then give the uninterrupted run's losses exactly.
    /// A checkpoint written part-way through an epoch (`steps_in_epoch`, `epoch_rng_state`) continues
    /// that epoch at its next batch.
    /// - Parameters:
    ///   - numEpochs: the run's new total (nil keeps the saved one).
    ///   - path: the checkpoint's file name, for messages.
    /// - Throws: ``TrainingError/invalidCheckpoint(path:reason:)`` for a checkpoint without Ember's
    ///   resume keys or with a state that does not fit; other ``TrainingError``s as the fresh init.
    public convenience init(text: String, resumingFrom checkpoint: TrainingCheckpoint, path: String,
                            numEpochs: Int? = nil, device: Device = .cpu, tokenizer: GPT2Tokenizer,
                            group: ProcessGroup = .single) throws(TrainingError) {
        guard var settings = checkpoint.settings, let epoch = checkpoint.epoch, let step = checkpoint.globalStep,
              let tokens = checkpoint.tokensSeen, let rng = checkpoint.rngState, let log = checkpoint.log,
              let optimizerState = checkpoint.optimizerState else {
            throw .invalidCheckpoint(path: path, reason: "not an Ember training checkpoint (it needs 'optimizer_state_dict', 'epoch', 'global_step', 'tokens_seen', 'rng_state', 'config', 'train_settings' and 'train_log' to resume); `ember generate` can still use its weights")
        }
        if let numEpochs { settings.numEpochs = numEpochs }
        try self.init(text: text, settings: settings, device: device, tokenizer: tokenizer, weights: (checkpoint, path), group: group)
        do { try optimizer.loadStateDict(optimizerState) } catch {
            throw .invalidCheckpoint(path: path, reason: "the optimizer state does not fit the model: \(error)")
        }
        if let problem = Self.optimizerStateProblem(optimizer) { throw .invalidCheckpoint(path: path, reason: problem) }
        do { try Generator.default.setState(rng) } catch {
            throw .invalidCheckpoint(path: path, reason: "bad 'rng_state': \(error)")
        }
        epochsCompleted = epoch
        if let steps = checkpoint.stepsInEpoch, steps > 0 {
            guard let start = checkpoint.epochRNGState, steps < trainLoader.count else {
                throw .invalidCheckpoint(path: path, reason: "'steps_in_epoch' \(steps) needs 'epoch_rng_state' and fewer steps than the \(trainLoader.count) of an epoch")
            }
            stepsInEpoch = steps
            epochStartRNG = start
            stoppedRNG = rng
            isInterrupted = true
        }
        loop.restore(globalStep: step, seen: tokens, history: log)
    }

    /// Whether every epoch of ``settings`` is done.
    public var isFinished: Bool { epochsCompleted >= settings.numEpochs }

    /// How ``runEpoch(log:progress:shouldStop:)`` ended.
    public enum EpochOutcome: Sendable, Equatable {
        /// The epoch ran to its end and printed its sample.
        case completed
        /// `shouldStop` returned true before the epoch began (nothing changed) or part-way
        /// (``isInterrupted`` is then set; the next call continues the epoch).
        case interrupted
    }

    /// Trains the next epoch as the book's `train_model_simple` does: per batch `zero_grad`, loss,
    /// `backward`, `step`; every `evalFreq` global steps an evaluation line
    /// (`Ep 1 (Step 000000): Train loss 9.781, Val loss 9.933`); at the end the greedy sample.
    /// - Parameters:
    ///   - log: receives the evaluation lines and the sample (default `print`).
    ///   - progress: called after every step.
    ///   - shouldStop: asked before every step (e.g. "was Ctrl-C pressed?").
    /// - Throws: what the tokenizer throws while printing the sample.
    public func runEpoch(log: (String) -> Void = { print($0) }, progress: (TrainingProgress) -> Void = { _ in },
                         shouldStop: () -> Bool = { false }) throws -> EpochOutcome {
        guard !isFinished else { return .completed }
        if shouldStop() { return .interrupted }
        let start = sessionStart ?? ContinuousClock.now
        sessionStart = start
        let epoch = epochsCompleted
        let generator = Generator.default
        // A part-way epoch draws its order again from the epoch's first state, skips the batches
        // trained, then takes up the generator where the last step left it.
        let current = stoppedRNG ?? generator.getState()
        let epochStart = epochStartRNG ?? current
        epochStartRNG = epochStart
        let skipping = stepsInEpoch
        if skipping > 0 { try! generator.setState(epochStart) }   // a state getState() returned is valid
        trainSampler?.setEpoch(epoch)
        // With several ranks the decision to stop is collective: a rank that stopped alone would
        // leave the others waiting in their next gradient reduction.
        let group = self.group
        func stop() -> Bool { group.worldSize > 1 ? ((try? group.any(shouldStop())) ?? true) : shouldStop() }
        // `for (inputs, targets) in train_loader`: iterating draws the base seed and the order.
        let completed = loop.trainEpoch(epoch, trainLoader: trainLoader, valLoader: valLoader, log: log,
                                        shouldStop: stop, skipping: skipping,
                                        generatorAfterSkip: skipping > 0 ? current : nil) { step in
            stepsInEpoch = step.stepInEpoch
            sessionSteps += 1
            sessionTokens += step.seen
            let elapsed = start.duration(to: .now)
            progress(TrainingProgress(epoch: epoch + 1, numEpochs: settings.numEpochs, step: step.stepInEpoch,
                                      stepsPerEpoch: trainLoader.count, globalStep: step.globalStep, loss: step.loss.item(),
                                      sessionTokens: sessionTokens, sessionSteps: sessionSteps,
                                      elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        }
        if !completed {
            isInterrupted = true
            // Stopped before this call's first step: only the loader's draws happened; undo them.
            if stepsInEpoch == skipping { try! generator.setState(current) }
            if stepsInEpoch == 0 { epochStartRNG = nil }
            stoppedRNG = stepsInEpoch > 0 ? generator.getState() : nil
            return .interrupted
        }
        isInterrupted = false
        stepsInEpoch = 0
        epochStartRNG = nil
        stoppedRNG = nil
        // The greedy sample draws nothing; only rank 0 prints it, so only rank 0 computes it.
        if group.rank == 0 {
            try generateAndPrintSample(model: model, tokenizer: tokenizer, device: device, startContext: settings.startContext, log: log)
        }
        epochsCompleted += 1
        return .completed
    }

    /// The run's state now (between epochs, or between steps of an interrupted one): weights,
    /// optimizer, global generator, counters, settings and log (see ``TrainingCheckpoint``).
    public func checkpoint() -> TrainingCheckpoint {
        TrainingCheckpoint(modelState: .stateDict(model.stateDict()), optimizerState: optimizer.stateDict(),
                           epoch: epochsCompleted, globalStep: globalStep, tokensSeen: tokensSeen,
                           rngState: stoppedRNG ?? Generator.default.getState(), config: settings.config, settings: settings,
                           log: history, stepsInEpoch: stepsInEpoch > 0 ? stepsInEpoch : nil,
                           epochRNGState: stepsInEpoch > 0 ? epochStartRNG : nil)
    }

    /// Whether `ember train` writes the checkpoint now, at the end of epoch ``epochsCompleted``: after
    /// the last epoch, and after every `saveEvery`-th one when given (nil: only at the end). Ctrl-C
    /// saves too, wherever it stops.
    public func isCheckpointDue(every saveEvery: Int?) -> Bool {
        isFinished || saveEvery.map { $0 > 0 && epochsCompleted % $0 == 0 } == true
    }

    /// The checkpoint's file name in the output folder (the book's `model_and_optimizer.pth`).
    public static let checkpointFileName = "model_and_optimizer.pth"
    /// The log's file name (``TrainingLog`` as JSON).
    public static let logFileName = "training-log.json"
    /// The loss plot's file name (``LossPlot`` SVG).
    public static let plotFileName = "loss-plot.svg"

    /// Writes ``checkpoint()`` (`model_and_optimizer.pth`, unless `includingCheckpoint` is false: it
    /// is the big one, about 1.95 GB for GPT-2 small), the log (`training-log.json`, ``TrainingLog``
    /// as JSON) and the loss plot (`loss-plot.svg`) into `directory`, creating it. Each file is written
    /// to a temporary file and renamed, so an interruption leaves the previous version whole.
    /// - Throws: the file system's errors.
    public func writeOutputs(to directory: URL, includingCheckpoint: Bool = true) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if includingCheckpoint { try checkpoint().save(to: directory.appendingPathComponent(Self.checkpointFileName)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // A diverged run's NaN losses must not make the log unwritable.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try encoder.encode(history).write(to: directory.appendingPathComponent(Self.logFileName), options: .atomic)
        try LossPlot(history, numEpochs: max(1, epochsCompleted)).write(to: directory.appendingPathComponent(Self.plotFileName))
    }
}
