import EmberCore
import EmberIO
import EmberNN
import Foundation
import OrderedCollections

/// A finetuned classifier on disk: `review_classifier.pth`, the book's `torch.save(model.state_dict(), …)`
/// (chapter 6 §6.8; `model.load_state_dict(torch.load(path))` reads it into the book's model with the
/// new head), and beside it `review_classifier.json` with what the state dict cannot say: the config
/// (`n_heads` is in no tensor's shape), the `max_length` the classifier was trained with and the
/// class names.
public struct ClassifierCheckpoint: Codable, Equatable, Sendable {
    /// The model's config (the book's keys).
    public var config: GPTConfig
    /// Outputs of the head.
    public var numClasses: Int
    /// The padded length of the training texts (the book: 120).
    public var maxLength: Int
    /// The name of each class, by index.
    public var labels: [String]

    enum CodingKeys: String, CodingKey {
        case config, numClasses = "num_classes", maxLength = "max_length", labels
    }

    public init(config: GPTConfig, numClasses: Int = 2, maxLength: Int, labels: [String] = ["not spam", "spam"]) {
        self.config = config
        self.numClasses = numClasses
        self.maxLength = maxLength
        self.labels = labels
    }

    /// The side file of a `.pth` path (`review_classifier.pth` → `review_classifier.json`).
    public static func infoURL(for url: URL) -> URL { url.deletingPathExtension().appendingPathExtension("json") }

    /// Writes `model.stateDict()` to `url` and this description to ``infoURL(for:)``, each atomically.
    /// - Throws: the file system's or the writer's error.
    public func save(_ model: GPTModel, to url: URL) throws {
        try EmberIO.save(model.stateDict(), to: url)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: Self.infoURL(for: url), options: .atomic)
    }

    /// Reads a classifier: the state dict at `url` (Ember's or one PyTorch saved from the book's model)
    /// and its side file when present. Without one, the config comes from the tensors' shapes
    /// (`tok_emb`, `pos_emb`, the blocks, `qkv_bias` from `W_query.bias`, the classes from `out_head`)
    /// with `nHeads` — default `emb_dim / 64`, GPT-2's head size — and `maxLength` = the context length.
    /// The model is built on `meta` and the weights assigned (nothing drawn), in eval mode.
    /// - Throws: ``TrainingError`` for a missing or malformed file or tensors that do not fit.
    public static func load(_ url: URL, nHeads: Int? = nil) throws -> (model: GPTModel, info: ClassifierCheckpoint) {
        let checkpoint = try TrainingCheckpoint.load(contentsOf: url)
        guard let weights = checkpoint.modelState.tensorDict else {
            throw TrainingError.invalidCheckpoint(path: url.path, reason: "no model state dict")
        }
        var info: ClassifierCheckpoint
        let infoURL = Self.infoURL(for: url)
        if FileManager.default.fileExists(atPath: infoURL.path) {
            do { info = try JSONDecoder().decode(ClassifierCheckpoint.self, from: Data(contentsOf: infoURL)) } catch {
                throw TrainingError.invalidCheckpoint(path: infoURL.path, reason: "\(error)")
            }
            if let nHeads { info.config.nHeads = nHeads }
        } else {
            info = try inferred(from: weights, path: url.path, nHeads: nHeads)
        }
        try info.config.validateForTraining()
        let model = GPTModel(info.config, device: .meta)
        model.out_head = Linear(info.config.embDim, info.numClasses, device: .meta)
        var floats = weights
        for (k, t) in floats where t.isFloatingPoint && t.dtype != .float32 { floats[k] = t.to(.float32) }
        do { try model.loadStateDict(floats, assign: true) } catch {
            throw TrainingError.checkpointMismatch(path: url.path, config: info.config, report: "\(error)")
        }
        if let left = model.stateDict().first(where: { $0.value.device == .meta }) {
            throw TrainingError.checkpointMismatch(path: url.path, config: info.config, report: "'\(left.key)' was not loaded")
        }
        model.eval()
        return (model, info)
    }

    /// The description a bare state dict implies (see ``load(_:nHeads:)``).
    static func inferred(from weights: OrderedDictionary<String, Tensor>, path: String, nHeads: Int?) throws -> ClassifierCheckpoint {
        func shape(_ key: String) throws -> [Int] {
            guard let t = weights[key] else { throw TrainingError.invalidCheckpoint(path: path, reason: "no '\(key)' tensor: not a classifier state dict of the book's GPTModel") }
            return t.shape
        }
        let tok = try shape("tok_emb.weight"), pos = try shape("pos_emb.weight"), head = try shape("out_head.weight")
        guard tok.count == 2, pos.count == 2, head.count == 2 else {
            throw TrainingError.invalidCheckpoint(path: path, reason: "tok_emb, pos_emb and out_head weights must be matrices")
        }
        var layers = 0
        while weights["trf_blocks.\(layers).att.W_query.weight"] != nil { layers += 1 }
        let config = GPTConfig(vocabSize: tok[0], contextLength: pos[0], embDim: tok[1], nHeads: nHeads ?? Swift.max(1, tok[1] / 64),
                               nLayers: layers, dropRate: 0, qkvBias: weights["trf_blocks.0.att.W_query.bias"] != nil)
        let labels = head[0] == 2 ? ["not spam", "spam"] : (0..<head[0]).map { "class \($0)" }
        return ClassifierCheckpoint(config: config, numClasses: head[0], maxLength: pos[0], labels: labels)
    }
}
