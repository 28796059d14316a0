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
/// | `steps_in_epoch` | only when saved part-way through an epoch (Ctrl-C): its batches already trained (int) |
/// | `epoch_rng_state` | with `steps_in_epoch`: the global generator when that epoch began (as `rng_state`) |
///
/// Resuming restores all of these. At an epoch boundary the data loader's next iteration starts from
/// the restored generator; part-way, the epoch's order is drawn again from `epoch_rng_state`, the
/// trained batches are skipped and the generator continues from `rng_state` — either way the resumed
/// run repeats the uninterrupted run's draws.
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
    /// Batches of epoch `epoch + 1` already trained, when saved part-way through it.
    public var stepsInEpoch: Int?
    /// The global generator when that part-way epoch began.
    public var epochRNGState: GeneratorState?

    /// A checkpoint of the given parts.
    public init(modelState: StateValue, optimizerState: StateValue? = nil, epoch: Int? = nil, globalStep: Int? = nil,
                tokensSeen: Int? = nil, rngState: GeneratorState? = nil, config: GPTConfig? = nil,
                settings: TrainingSettings? = nil, log: TrainingLog? = nil, stepsInEpoch: Int? = nil,
                epochRNGState: GeneratorState? = nil) {
        self.modelState = modelState
        self.optimizerState = optimizerState
        self.epoch = epoch
        self.globalStep = globalStep
        self.tokensSeen = tokensSeen
        self.rngState = rngState
        self.config = config
        self.settings = settings
        self.log = log
        self.stepsInEpoch = stepsInEpoch
        self.epochRNGState = epochRNGState
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
        if let config { d.append(("config", Self.plain(config))) }
        if var s = Self.plain(settings).dict {
            s.removeValue(forKey: "config")                        // stored once, under "config"
            d.append(("train_settings", .dict(s)))
        }
        if let log { d.append(("train_log", Self.plain(log))) }
        if let stepsInEpoch { d.append(("steps_in_epoch", .int(stepsInEpoch))) }
        if let epochRNGState {
            let bytes = epochRNGState.bytes
            d.append(("epoch_rng_state", .tensor(Tensor(array: bytes, shape: [bytes.count]))))
        }
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
    ///
    /// The file is memory-mapped (`torch.load(path, mmap=True)`): its tensors borrow the mapping, so
    /// only what a caller reads is paged in (`ember generate` touches the weights, never the
    /// optimizer state, 2/3 of the file). The mapping is copy-on-write: training the loaded tensors
    /// in place never changes the file, and a checkpoint saved over it (a new file, renamed) leaves
    /// the mapping valid.
    /// - Throws: ``TrainingError/invalidCheckpoint(path:reason:)`` for a missing, unreadable or
    ///   malformed file or Ember key.
    public static func load(contentsOf url: URL) throws(TrainingError) -> TrainingCheckpoint {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw .invalidCheckpoint(path: path, reason: "no such file") }
        let value: StateValue
        do { value = try EmberIO.load(url, mapLocation: .cpu, mmap: true) } catch {
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
        func int(_ key: String, atLeast lowest: Int) throws(TrainingError) -> Int? {
            guard let i = try int(key) else { return nil }
            guard i >= lowest else { throw bad("'\(key)' is \(i); it must be at least \(lowest)") }
            return i
        }
        epoch = try int("epoch", atLeast: 0)
        globalStep = try int("global_step", atLeast: -1)
        tokensSeen = try int("tokens_seen", atLeast: 0)
        func generatorState(_ key: String) throws(TrainingError) -> GeneratorState? {
            guard let v = value[key] else { return nil }
            guard let t = v.tensor, t.dtype == .uint8, t.ndim == 1 else { throw bad("'\(key)' is not a uint8 vector") }
            do { return try GeneratorState(bytes: t.toArray(UInt8.self)) } catch {
                throw bad("'\(key)' is not a generator state: \(error)")
            }
        }
        rngState = try generatorState("rng_state")
        stepsInEpoch = try int("steps_in_epoch", atLeast: 0)
        epochRNGState = try generatorState("epoch_rng_state")
        if let v = value["config"] {
            let c = try Self.decode(GPTConfig.self, v, key: "config", bad)
            if let problem = c.sizeProblem() { throw bad("'config': \(problem)") }
            config = c
        }
        if var v = value["train_settings"]?.dict {
            // The model config is stored once, under "config".
            guard let c = value["config"] else { throw bad("'train_settings' without 'config'") }
            v["config"] = c
            let decoded = try Self.decode(TrainingSettings.self, .dict(v), key: "train_settings", bad)
            do { try decoded.validate() } catch { throw bad("'train_settings': \(error)") }
            settings = decoded
        } else if value["train_settings"] != nil {
            throw bad("'train_settings' is not a dictionary")
        }
        if let v = value["train_log"] {
            let log = try Self.decode(TrainingLog.self, v, key: "train_log", bad)
            let n = log.trainLosses.count
            guard [log.valLosses.count, log.tokensSeen.count, log.steps.count, log.epochs.count].allSatisfy({ $0 == n }) else {
                throw bad("'train_log' lists have different lengths")
            }
            self.log = log
        }
    }

    // MARK: - Plain values (what torch.load(weights_only=True) accepts: dicts, lists, numbers, strings, bools)

    /// `value` as snake-case plain objects (``StateValueEncoder``); the config, settings and log
    /// hold only numbers, strings, bools and lists, which always encode.
    static func plain<T: Encodable>(_ value: T?) -> StateValue {
        guard let value else { return .none }
        return try! StateValueEncoder(keys: .snakeCase).encode(value)
    }

    /// Decodes the Ember key `key` with ``StateValueDecoder``, naming the first bad field in the error.
    static func decode<T: Decodable>(_ type: T.Type, _ value: StateValue, key: String,
                                     _ bad: (String) -> TrainingError) throws(TrainingError) -> T {
        do { return try StateValueDecoder(keys: .snakeCase).decode(type, from: value) } catch let error as DecodingError {
            func path(_ codingPath: [CodingKey]) -> String {
                ([key] + codingPath.map { k in k.intValue.map { "[\($0)]" } ?? ".\(StateValueEncoder.KeyStrategy.snakeCase.key(k.stringValue))" })
                    .joined().replacingOccurrences(of: ".[", with: "[")
            }
            switch error {
            case .keyNotFound(let k, let ctx): throw bad("'\(path(ctx.codingPath))' has no valid '\(StateValueEncoder.KeyStrategy.snakeCase.key(k.stringValue))'")
            case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
                throw bad("'\(path(ctx.codingPath))' is not valid: \(ctx.debugDescription)")
            @unknown default: throw bad("'\(key)' is not valid: \(error)")
            }
        } catch {
            throw bad("'\(key)' is not valid: \(error)")
        }
    }
}

extension TrainingCheckpoint {
    /// A ``GPTModel`` of `config` holding ``modelState``'s tensors, on the CPU, in training mode:
    /// built on `meta` (shapes only, nothing drawn from any generator) and materialised with
    /// `loadStateDict(_:assign: true)`, as PyTorch's `torch.device("meta")` + `load_state_dict(assign=True)`
    /// does — every parameter and persistent buffer (the causal masks `…att.mask` included) is the
    /// checkpoint's; the KV caches stay empty until used. Floating-point tensors of another dtype are
    /// converted to float32, as copying into a float32 model would.
    /// - Throws: ``TrainingError/checkpointMismatch(path:config:report:)`` with PyTorch's
    ///   `load_state_dict` report (missing, unexpected and mismatched keys) when they do not fit.
    public func makeModel(config: GPTConfig, path: String) throws(TrainingError) -> GPTModel {
        // Sizes first: the meta model below allocates nothing, but its shapes must stay sane.
        if let problem = config.sizeProblem() { throw .invalidCheckpoint(path: path, reason: "config: \(problem)") }
        let model = GPTModel(config, device: .meta)
        var weights = modelState.tensorDict ?? [:]
        for (k, t) in weights where t.isFloatingPoint && t.dtype != .float32 { weights[k] = t.to(.float32) }
        do { try model.loadStateDict(weights, assign: true) } catch {
            throw .checkpointMismatch(path: path, config: config, report: "\(error)")
        }
        if let left = model.stateDict().first(where: { $0.value.device == .meta }) {
            throw .checkpointMismatch(path: path, config: config, report: "'\(left.key)' was not loaded")
        }
        return model
    }

    /// A ``GPTModel`` with the weights of the checkpoint at `url`, in eval mode: its `config` when
    /// saved (Ember checkpoints), else `fallbackConfig` (the book's checkpoints and bare state dicts).
    /// The model is built by ``makeModel(config:path:)``: no random initialisation is drawn.
    /// - Returns: the model and whether its config came from the file.
    /// - Throws: ``TrainingError`` for an unreadable file, a bad config, or tensors that do not fit.
    public static func loadModel(contentsOf url: URL, fallbackConfig: GPTConfig) throws(TrainingError) -> (model: GPTModel, configFromFile: Bool) {
        let checkpoint = try load(contentsOf: url)
        let config = checkpoint.config ?? fallbackConfig
        try config.validateForTraining()
        if checkpoint.config != nil {
            // The file's own config must describe the file's own weights (a config that lies is refused by
            // key; a config given by the user gets PyTorch's load_state_dict report from makeModel).
            var shapes: [String: [Int]] = [:]
            for (k, t) in checkpoint.modelState.tensorDict ?? [:] { shapes[k] = t.shape }
            if let problem = config.shapeProblem(shapes) {
                throw .invalidCheckpoint(path: url.path, reason: "'config' disagrees with the weights: \(problem)")
            }
        }
        let model = try checkpoint.makeModel(config: config, path: url.path)
        model.eval()
        return (model, checkpoint.config != nil)
    }
}
