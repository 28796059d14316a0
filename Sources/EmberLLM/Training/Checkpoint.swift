import EmberCore
import EmberIO
import EmberNN
import Foundation

/// What `ember train` saves after every epoch (`model_and_optimizer.pth`): the book's two keys
/// (ch. 5.4, `torch.save({"model_state_dict": …, "optimizer_state_dict": …})`, so PyTorch loads it
/// as the book does) plus Ember's keys for an exact resume:
///
/// | key | value |
/// | --- | --- |
/// | `epoch` | completed epochs (int) |
/// | `global_step` | last optimizer step, from 0; −1 before the first (int) |
/// | `tokens_seen` | input tokens trained on (int) |
/// | `rng_state` | the global generator, `[5056]` uint8 in `torch.get_rng_state()`'s layout |
/// | `config` | the model config with the book's keys (`vocab_size`, …, `qkv_bias`) |
/// | `train_settings` | hyper-parameters (``TrainingSettings``, snake-case keys) |
/// | `train_log` | ``TrainingLog`` so far (`train_losses`, `val_losses`, `tokens_seen`, `steps`, `epochs`) |
///
/// Resuming restores all of these at an epoch boundary, where the data loader's next iteration
/// starts from the restored generator, so the resumed run repeats the uninterrupted run's draws.
public struct TrainingCheckpoint: Sendable {
    /// The model's state dict (`.dict` of `.tensor`).
    public var modelState: StateValue
    /// The optimizer's state dict (PyTorch's structure), if saved.
    public var optimizerState: StateValue?
    /// Completed epochs; nil in a checkpoint not written by Ember.
    public var epoch: Int?
    /// Last optimizer step (from 0; −1 before the first).
    public var globalStep: Int?
    /// Tokens trained on.
    public var tokensSeen: Int?
    /// The global generator after the last completed epoch.
    public var rngState: GeneratorState?
    /// The model config.
    public var config: GPTConfig?
    /// The run's hyper-parameters.
    public var settings: TrainingSettings?
    /// The evaluations so far.
    public var log: TrainingLog?

    /// A checkpoint of the given parts.
    public init(modelState: StateValue, optimizerState: StateValue? = nil, epoch: Int? = nil, globalStep: Int? = nil,
                tokensSeen: Int? = nil, rngState: GeneratorState? = nil, config: GPTConfig? = nil,
                settings: TrainingSettings? = nil, log: TrainingLog? = nil) {
        self.modelState = modelState
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.globalStep = globalStep
        self.tokensSeen = tokensSeen
        self.rngState = rngState
        self.config = config
        self.settings = settings
        self.log = log
    }

    /// The object `torch.save` writes: the keys of the table above, in that order (absent parts left out).
    public var stateValue: StateValue {
        var d: [(StateKey, StateValue)] = [("model_state_dict", modelState)]
        if let optimizerState { d.append(("optimizer_state_dict", optimizerState)) }
        if let epoch { d.append(("epoch", .int(epoch))) }
        if let globalStep { d.append(("global_step", .int(globalStep))) }
        if let tokensSeen { d.append(("tokens_seen", .int(tokensSeen))) }
        if let rngState {
            let bytes = rngState.bytes
            d.append(("rng_state", .tensor(Tensor(array: bytes, shape: [bytes.count]))))
        }
        if let config { d.append(("config", Self.encode(config))) }
        if let settings { d.append(("train_settings", Self.encode(settings))) }
        if let log { d.append(("train_log", Self.encode(log))) }
        return .dict(.init(uniqueKeysWithValues: d))
    }

    /// Writes ``stateValue`` atomically (temporary file, then rename): an interrupted save leaves the
    /// previous checkpoint intact.
    /// - Throws: `EmberIOError` when writing fails.
    public func save(to url: URL) throws {
        try EmberIO.save(stateValue, to: url)
    }

    /// Reads a checkpoint: Ember's (all keys), the book's (`model_state_dict` and
    /// `optimizer_state_dict` only), or a bare model state dict (`torch.save(model.state_dict())`).
    /// - Throws: ``TrainingError/invalidCheckpoint(path:reason:)`` for a missing, unreadable or
    ///   malformed file or Ember key.
    public static func load(contentsOf url: URL) throws(TrainingError) -> TrainingCheckpoint {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw .invalidCheckpoint(path: path, reason: "no such file") }
        let value: StateValue
        do { value = try EmberIO.load(url, mapLocation: .cpu) } catch {
            throw .invalidCheckpoint(path: path, reason: "\(error)")
        }
        return try TrainingCheckpoint(value, path: path)
    }

    /// Decodes what ``stateValue`` encodes (see ``load(contentsOf:)``); `path` names the file in errors.
    public init(_ value: StateValue, path: String) throws(TrainingError) {
        func bad(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        guard let model = value["model_state_dict"] else {
            guard value.tensorDict != nil else {
                throw bad("neither a model state dict nor a checkpoint with a 'model_state_dict' key")
            }
            self.init(modelState: value)
            return
        }
        guard model.tensorDict != nil else { throw bad("'model_state_dict' is not a dictionary of tensors") }
        self.init(modelState: model, optimizerState: value["optimizer_state_dict"])
        func int(_ key: String) throws(TrainingError) -> Int? {
            guard let v = value[key] else { return nil }
            guard let i = v.int else { throw bad("'\(key)' is not an integer") }
            return i
        }
        epoch = try int("epoch")
        globalStep = try int("global_step")
        tokensSeen = try int("tokens_seen")
        if let v = value["rng_state"] {
            guard let t = v.tensor, t.dtype == .uint8, t.ndim == 1 else { throw bad("'rng_state' is not a uint8 vector") }
            do { rngState = try GeneratorState(bytes: t.toArray(UInt8.self)) } catch {
                throw bad("'rng_state' is not a generator state: \(error)")
            }
        }
        if let v = value["config"] { config = try Self.decodeConfig(v, bad) }
        if let v = value["train_settings"] { settings = try Self.decodeSettings(v, bad) }
        if let v = value["train_log"] { log = try Self.decodeLog(v, bad) }
        if settings != nil {
            guard let config else { throw bad("'train_settings' without 'config'") }
            settings!.config = config
        }
    }

    // MARK: - Plain values (what torch.load(weights_only=True) accepts: dicts, lists, numbers, strings, bools)

    static func encode(_ c: GPTConfig) -> StateValue {
        .dict(["vocab_size": .int(c.vocabSize), "context_length": .int(c.contextLength), "emb_dim": .int(c.embDim),
               "n_heads": .int(c.nHeads), "n_layers": .int(c.nLayers), "drop_rate": .double(c.dropRate),
               "qkv_bias": .bool(c.qkvBias)])
    }

    static func encode(_ s: TrainingSettings) -> StateValue {
        .dict(["learning_rate": .double(s.learningRate), "weight_decay": .double(s.weightDecay),
               "num_epochs": .int(s.numEpochs), "batch_size": .int(s.batchSize), "seed": .int(s.seed),
               "eval_freq": .int(s.evalFreq), "eval_iter": .int(s.evalIter), "start_context": .string(s.startContext),
               "train_ratio": .double(s.trainRatio)])
    }

    static func encode(_ log: TrainingLog) -> StateValue {
        .dict(["train_losses": .list(log.trainLosses.map { .double($0) }), "val_losses": .list(log.valLosses.map { .double($0) }),
               "tokens_seen": .list(log.tokensSeen.map { .int($0) }), "steps": .list(log.steps.map { .int($0) }),
               "epochs": .list(log.epochs.map { .int($0) })])
    }

    private static func field<T>(_ d: StateValue, _ key: String, _ what: String, _ get: (StateValue) -> T?,
                                 _ bad: (String) -> TrainingError) throws(TrainingError) -> T {
        guard let v = d[key], let x = get(v) else { throw bad("'\(what)' has no valid '\(key)'") }
        return x
    }

    static func decodeConfig(_ v: StateValue, _ bad: (String) -> TrainingError) throws(TrainingError) -> GPTConfig {
        GPTConfig(vocabSize: try field(v, "vocab_size", "config", \.int, bad),
                  contextLength: try field(v, "context_length", "config", \.int, bad),
                  embDim: try field(v, "emb_dim", "config", \.int, bad),
                  nHeads: try field(v, "n_heads", "config", \.int, bad),
                  nLayers: try field(v, "n_layers", "config", \.int, bad),
                  dropRate: try field(v, "drop_rate", "config", \.double, bad),
                  qkvBias: try field(v, "qkv_bias", "config", \.bool, bad))
    }

    static func decodeSettings(_ v: StateValue, _ bad: (String) -> TrainingError) throws(TrainingError) -> TrainingSettings {
        // The model config is stored once, under "config"; the caller fills it in.
        var s = TrainingSettings(config: .tiny)
        s.learningRate = try field(v, "learning_rate", "train_settings", \.double, bad)
        s.weightDecay = try field(v, "weight_decay", "train_settings", \.double, bad)
        s.numEpochs = try field(v, "num_epochs", "train_settings", \.int, bad)
        s.batchSize = try field(v, "batch_size", "train_settings", \.int, bad)
        s.seed = try field(v, "seed", "train_settings", \.int, bad)
        s.evalFreq = try field(v, "eval_freq", "train_settings", \.int, bad)
        s.evalIter = try field(v, "eval_iter", "train_settings", \.int, bad)
        s.startContext = try field(v, "start_context", "train_settings", \.string, bad)
        s.trainRatio = try field(v, "train_ratio", "train_settings", \.double, bad)
        return s
    }

    static func decodeLog(_ v: StateValue, _ bad: (String) -> TrainingError) throws(TrainingError) -> TrainingLog {
        func doubles(_ key: String) throws(TrainingError) -> [Double] {
            let items = try field(v, key, "train_log", \.elements, bad)
            var out: [Double] = []
            // NaN losses (an empty validation loader in the book's code) stay NaN.
            for item in items { guard let d = item.double else { throw bad("'train_log.\(key)' holds a non-number") }; out.append(d) }
            return out
        }
        func ints(_ key: String) throws(TrainingError) -> [Int] {
            let items = try field(v, key, "train_log", \.elements, bad)
            var out: [Int] = []
            for item in items { guard let i = item.int else { throw bad("'train_log.\(key)' holds a non-integer") }; out.append(i) }
            return out
        }
        let log = TrainingLog(trainLosses: try doubles("train_losses"), valLosses: try doubles("val_losses"),
                              tokensSeen: try ints("tokens_seen"), steps: try ints("steps"), epochs: try ints("epochs"))
        let n = log.trainLosses.count
        guard [log.valLosses.count, log.tokensSeen.count, log.steps.count, log.epochs.count].allSatisfy({ $0 == n }) else {
            throw bad("'train_log' lists have different lengths")
        }
        return log
    }
}

extension TrainingCheckpoint {
    /// Copies ``modelState`` into `model` (strict: every key, every shape).
    /// - Throws: ``TrainingError/checkpointMismatch(path:config:report:)`` with PyTorch's
    ///   `load_state_dict` report (missing, unexpected and mismatched keys) when they do not fit.
    public func restoreModel(_ model: GPTModel, path: String) throws(TrainingError) {
        do { try model.loadStateDict(modelState) } catch {
            throw .checkpointMismatch(path: path, config: model.config, report: "\(error)")
        }
    }

    /// A ``GPTModel`` with the weights of the checkpoint at `url`, in eval mode: its `config` when
    /// saved (Ember checkpoints), else `fallbackConfig` (the book's checkpoints and bare state dicts).
    /// - Returns: the model and whether its config came from the file.
    /// - Throws: ``TrainingError`` for an unreadable file, a bad config, or tensors that do not fit.
    public static func loadModel(contentsOf url: URL, fallbackConfig: GPTConfig) throws(TrainingError) -> (model: GPTModel, configFromFile: Bool) {
        let checkpoint = try load(contentsOf: url)
        let config = checkpoint.config ?? fallbackConfig
        try config.validateForTraining()
        let model = GPTModel(config)
        try checkpoint.restoreModel(model, path: url.path)
        model.eval()
        return (model, checkpoint.config != nil)
    }
}
