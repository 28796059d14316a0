/// The hyper-parameters of the book's GPT model (`GPT_CONFIG_124M` and friends, chapter 4).
///
/// Swift spellings of the book's keys; ``CodingKeys`` keep the book's snake-case names, so a
/// config saved from Python (`json.dump(GPT_CONFIG_124M, f)`) decodes as is.
///
/// ```swift
/// let cfg = GPTConfig.gpt2Small124M.with(contextLength: 256)   // the book's chapter-5 config
/// ```
/// The named configs (``gpt2Small124M``, ``tiny``, ``gpt2(_:)``, …) and their name lookups are in
/// `GPTConfig+Presets.swift`.
///
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

    /// `sum(p.numel() for p in model.parameters())` of an untied ``GPTModel`` with this config, computed
    /// from the sizes (no model is built): the book prints 163,009,536 for `GPT_CONFIG_124M` (chapter 4.6).
    public var parameterCount: Int {
        let e = embDim, ff = 4 * embDim
        let attention = 3 * e * e + (qkvBias ? 3 * e : 0) + e * e + e      // W_query/W_key/W_value, out_proj
        let feedForward = e * ff + ff + ff * e + e                          // layers.0, layers.2
        let norms = 2 * 2 * e                                               // norm1, norm2: scale, shift
        let block = attention + feedForward + norms
        return vocabSize * e + contextLength * e + nLayers * block + 2 * e + vocabSize * e
    }

    /// ``parameterCount`` less the output head (`out_head` tied to `tok_emb`, as OpenAI's GPT-2):
    /// the book's "Number of trainable parameters considering weight tying: 124,412,160".
    public var parameterCountWithWeightTying: Int { parameterCount - vocabSize * embDim }
}
