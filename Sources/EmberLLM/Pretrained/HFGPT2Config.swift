import EmberIO
import Foundation

/// The fields of a Hugging Face GPT-2 `config.json` (`GPT2Config`) that decide the architecture.
///
/// Source: https://huggingface.co/docs/transformers/model_doc/gpt2#transformers.GPT2Config. Fields
/// absent from a file take transformers' defaults. ``gptConfig(dropRate:)`` refuses every setting the
/// book's ``GPTModel`` cannot compute exactly (another activation, LayerNorm epsilon, inner size,
/// attention scaling) instead of loading weights into the wrong function.
public struct HFGPT2Config: Codable, Equatable, Sendable {
    /// `model_type`; must be `"gpt2"`.
    public var modelType: String?
    /// `vocab_size` (default 50257).
    public var vocabSize: Int?
    /// `n_positions`: the context length (default 1024).
    public var nPositions: Int?
    /// `n_embd` (default 768).
    public var nEmbd: Int?
    /// `n_layer` (default 12).
    public var nLayer: Int?
    /// `n_head` (default 12).
    public var nHead: Int?
    /// `n_inner`: the feed-forward width; null means `4 * n_embd`, the book's.
    public var nInner: Int?
    /// `layer_norm_epsilon` (default 1e-5, the book's `LayerNorm` eps).
    public var layerNormEpsilon: Double?
    /// `activation_function` (default `gelu_new`: the tanh GELU of the book).
    public var activationFunction: String?
    /// `resid_pdrop`, `embd_pdrop`, `attn_pdrop`: dropout rates (the book uses one `drop_rate`).
    public var residPdrop: Double?
    public var embdPdrop: Double?
    public var attnPdrop: Double?
    /// `scale_attn_weights` (default true: scores divided by √head_dim).
    public var scaleAttnWeights: Bool?
    /// `scale_attn_by_inverse_layer_idx` (default false).
    public var scaleAttnByInverseLayerIdx: Bool?
    /// `tie_word_embeddings` (default true: `lm_head` shares `wte`).
    public var tieWordEmbeddings: Bool?
    /// `eos_token_id` (50256 for OpenAI's GPT-2).
    public var eosTokenId: Int?
    /// `architectures` (`["GPT2LMHeadModel"]` in files `save_pretrained` writes).
    public var architectures: [String]?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", vocabSize = "vocab_size", nPositions = "n_positions", nEmbd = "n_embd"
        case nLayer = "n_layer", nHead = "n_head", nInner = "n_inner", layerNormEpsilon = "layer_norm_epsilon"
        case activationFunction = "activation_function", residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop"
        case attnPdrop = "attn_pdrop", scaleAttnWeights = "scale_attn_weights"
        case scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case tieWordEmbeddings = "tie_word_embeddings", eosTokenId = "eos_token_id", architectures
    }

    /// A config for the book's model (what ``hfConfig(for:)`` writes on export).
    public init(_ c: GPTConfig) {
        modelType = "gpt2"; vocabSize = c.vocabSize; nPositions = c.contextLength; nEmbd = c.embDim
        nLayer = c.nLayers; nHead = c.nHeads; nInner = nil; layerNormEpsilon = 1e-5
        activationFunction = "gelu_new"; residPdrop = c.dropRate; embdPdrop = c.dropRate; attnPdrop = c.dropRate
        scaleAttnWeights = true; scaleAttnByInverseLayerIdx = false; tieWordEmbeddings = true; eosTokenId = 50256
        architectures = ["GPT2LMHeadModel"]
    }

    /// Reads `config.json`.
    /// - Throws: ``PretrainedError/invalidConfig(path:reason:)`` for an unreadable file, invalid JSON or
    ///   a field of the wrong type.
    public static func load(contentsOf url: URL) throws(PretrainedError) -> HFGPT2Config {
        let data: Data
        // Only a regular file, at most 1 MiB (a FIFO or device would block or stream forever).
        do { data = try RegularFile.read(url, maxBytes: 1 << 20) } catch let e as EmberIOError where e.kind == .limitExceeded {
            throw .invalidConfig(path: url.path, reason: "larger than 1 MiB; not a model config")
        } catch let e as EmberIOError {
            throw .invalidConfig(path: url.path, reason: e.message)
        } catch {
            throw .invalidConfig(path: url.path, reason: "cannot read it (\(error.localizedDescription))")
        }
        do { return try JSONDecoder().decode(HFGPT2Config.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw .invalidConfig(path: url.path, reason: "'\(ctx.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch {
            throw .invalidConfig(path: url.path, reason: "not a JSON object of GPT-2 settings (\(error))")
        }
    }

    /// Bounds a config must respect before anything is allocated (the largest GPT-2 is far inside them).
    static let maxVocab = 1 << 22, maxContext = 1 << 17, maxEmbd = 1 << 15, maxLayers = 1024

    /// The book's config for these settings (chapter 5.5's `BASE_CONFIG` keys).
    /// - Parameter dropRate: the book's `drop_rate` (0.0 for pretrained weights, as chapter 5.5 sets it).
    /// - Throws: ``PretrainedError/unsupportedModel(path:reason:)`` for a setting the book's model does
    ///   not compute; ``PretrainedError/invalidConfig(path:reason:)`` for sizes out of range. `path` names
    ///   the file in the error.
    public func gptConfig(dropRate: Double = 0.0, path: String) throws(PretrainedError) -> GPTConfig {
        if let modelType, modelType != "gpt2" {
            throw .unsupportedModel(path: path, reason: "model_type is '\(modelType)'; Ember's GPTModel loads 'gpt2' checkpoints")
        }
        let e = nEmbd ?? 768, heads = nHead ?? 12, layers = nLayer ?? 12, ctx = nPositions ?? 1024, vocab = vocabSize ?? 50257
        for (name, v, limit) in [("n_embd", e, Self.maxEmbd), ("n_head", heads, Self.maxEmbd), ("n_layer", layers, Self.maxLayers),
                                 ("n_positions", ctx, Self.maxContext), ("vocab_size", vocab, Self.maxVocab)] {
            guard v >= 1 && v <= limit else { throw .invalidConfig(path: path, reason: "\(name) = \(v) is outside 1...\(limit)") }
        }
        guard e % heads == 0 else { throw .invalidConfig(path: path, reason: "n_embd = \(e) is not divisible by n_head = \(heads)") }
        let act = activationFunction ?? "gelu_new"
        guard ["gelu_new", "gelu_pytorch_tanh"].contains(act) else {
            throw .unsupportedModel(path: path, reason: "activation_function '\(act)'; the book's GELU is the tanh approximation (gelu_new)")
        }
        if let nInner, nInner != 4 * e {
            throw .unsupportedModel(path: path, reason: "n_inner = \(nInner); the book's feed-forward width is 4 * n_embd = \(4 * e)")
        }
        if let eps = layerNormEpsilon, eps != 1e-5 {
            throw .unsupportedModel(path: path, reason: "layer_norm_epsilon = \(eps); the book's LayerNorm uses 1e-5")
        }
        if scaleAttnWeights == false || scaleAttnByInverseLayerIdx == true {
            throw .unsupportedModel(path: path, reason: "attention scaling other than 1/sqrt(head_dim) (scale_attn_weights / scale_attn_by_inverse_layer_idx)")
        }
        let config = GPTConfig(vocabSize: vocab, contextLength: ctx, embDim: e, nHeads: heads, nLayers: layers,
                               dropRate: dropRate, qkvBias: true)
        // Each size may be in range and their product still terabytes (n_embd 2^15 with vocab_size 2^22).
        if let problem = config.sizeProblem() { throw .invalidConfig(path: path, reason: problem) }
        return config
    }
}
