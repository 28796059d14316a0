/// The hyper-parameters of the book's GPT model (`GPT_CONFIG_124M` and friends, chapter 4).
///
/// Swift spellings of the book's keys; ``CodingKeys`` keep the book's snake-case names, so a
/// config saved from Python (`json.dump(GPT_CONFIG_124M, f)`) decodes as is.
///
/// ```swift
/// let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)   // the book's chapter-5 config
/// ```
/// Source: *Build a Large Language Model From Scratch*, ch. 4 (`GPT_CONFIG_124M`) and exercise 4.2.
public struct GPTConfig: Codable, Equatable, Hashable, Sendable {
    /// Vocabulary size (`vocab_size`): rows of `tok_emb` and outputs of `out_head`.
    public var vocabSize: Int
    /// Maximum number of input tokens (`context_length`): rows of `pos_emb`, side of the causal mask.
    public var contextLength: Int
    /// Embedding size (`emb_dim`).
    public var embDim: Int
    /// Attention heads per block (`n_heads`); must divide `embDim`.
    public var nHeads: Int
    /// Transformer blocks (`n_layers`).
    public var nLayers: Int
    /// Dropout probability of every dropout layer (`drop_rate`).
    public var dropRate: Double
    /// Whether the query/key/value projections have a bias (`qkv_bias`; true for OpenAI's weights).
    public var qkvBias: Bool

    /// A config from the book's seven keys (see the properties).
    public init(vocabSize: Int, contextLength: Int, embDim: Int, nHeads: Int, nLayers: Int,
                dropRate: Double, qkvBias: Bool) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.embDim = embDim
        self.nHeads = nHeads
        self.nLayers = nLayers
        self.dropRate = dropRate
        self.qkvBias = qkvBias
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "context_length", embDim = "emb_dim"
        case nHeads = "n_heads", nLayers = "n_layers", dropRate = "drop_rate", qkvBias = "qkv_bias"
    }

    /// A copy with the given fields replaced (the book's `{**GPT_CONFIG_124M, "context_length": 256}`).
    public func with(vocabSize: Int? = nil, contextLength: Int? = nil, embDim: Int? = nil,
                     nHeads: Int? = nil, nLayers: Int? = nil, dropRate: Double? = nil,
                     qkvBias: Bool? = nil) -> GPTConfig {
        GPTConfig(vocabSize: vocabSize ?? self.vocabSize, contextLength: contextLength ?? self.contextLength,
                  embDim: embDim ?? self.embDim, nHeads: nHeads ?? self.nHeads, nLayers: nLayers ?? self.nLayers,
                  dropRate: dropRate ?? self.dropRate, qkvBias: qkvBias ?? self.qkvBias)
    }

    /// `GPT_CONFIG_124M`: 50257, 1024, 768, 12 heads, 12 layers, dropout 0.1, no qkv bias.
    public static let gpt2Small124M = GPTConfig(vocabSize: 50257, contextLength: 1024, embDim: 768,
                                                nHeads: 12, nLayers: 12, dropRate: 0.1, qkvBias: false)
    /// GPT-2 medium (355M): emb 1024, 24 layers, 16 heads (exercise 4.2, ch. 5 `model_configs`).
    public static let gpt2Medium355M = gpt2Small124M.with(embDim: 1024, nHeads: 16, nLayers: 24)
    /// GPT-2 large (774M): emb 1280, 36 layers, 20 heads.
    public static let gpt2Large774M = gpt2Small124M.with(embDim: 1280, nHeads: 20, nLayers: 36)
    /// GPT-2 XL (1558M): emb 1600, 48 layers, 25 heads.
    public static let gpt2XL1558M = gpt2Small124M.with(embDim: 1600, nHeads: 25, nLayers: 48)

    /// The preset for a model name of the book's chapter 5 (`"gpt2-small (124M)"`, …, or the
    /// short `"gpt2-small"`, `"124M"`); nil for an unknown name.
    public static func preset(named name: String) -> GPTConfig? {
        switch name.lowercased() {
        case "gpt2-small (124m)", "gpt2-small", "gpt2", "124m": return gpt2Small124M
        case "gpt2-medium (355m)", "gpt2-medium", "355m": return gpt2Medium355M
        case "gpt2-large (774m)", "gpt2-large", "774m": return gpt2Large774M
        case "gpt2-xl (1558m)", "gpt2-xl", "1558m": return gpt2XL1558M
        default: return nil
        }
    }
}
