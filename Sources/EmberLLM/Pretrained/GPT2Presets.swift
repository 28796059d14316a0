/// OpenAI's four GPT-2 sizes as the book names them (chapter 5.5, `model_configs`).
///
/// ```swift
/// let cfg = GPTConfig.gpt2(.medium)      // BASE_CONFIG + model_configs["gpt2-medium (355M)"]
/// GPT2Size.medium.hubRepoId              // "openai-community/gpt2-medium"
/// ```
public enum GPT2Size: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 124M parameters (with weight tying): emb 768, 12 layers, 12 heads.
    case small = "gpt2-small (124M)"
    /// 355M: emb 1024, 24 layers, 16 heads.
    case medium = "gpt2-medium (355M)"
    /// 774M: emb 1280, 36 layers, 20 heads.
    case large = "gpt2-large (774M)"
    /// 1558M: emb 1600, 48 layers, 25 heads.
    case xl = "gpt2-xl (1558M)"

    /// The book's name, e.g. `"gpt2-small (124M)"`.
    public var description: String { rawValue }

    /// `(emb_dim, n_layers, n_heads)` from the book's `model_configs`.
    public var dimensions: (embDim: Int, nLayers: Int, nHeads: Int) {
        switch self {
        case .small: (768, 12, 12)
        case .medium: (1024, 24, 16)
        case .large: (1280, 36, 20)
        case .xl: (1600, 48, 25)
        }
    }

    /// The Hugging Face Hub repository of OpenAI's weights (`openai-community/gpt2`, `…-medium`, …).
    public var hubRepoId: String {
        switch self {
        case .small: "openai-community/gpt2"
        case .medium: "openai-community/gpt2-medium"
        case .large: "openai-community/gpt2-large"
        case .xl: "openai-community/gpt2-xl"
        }
    }

    /// The book's converted file name in `rasbt/gpt2-from-scratch-pytorch` (`gpt2-small-124M.pth`, …).
    public var bookFileName: String {
        switch self {
        case .small: "gpt2-small-124M.pth"
        case .medium: "gpt2-medium-355M.pth"
        case .large: "gpt2-large-774M.pth"
        case .xl: "gpt2-xl-1558M.pth"
        }
    }

    /// The size whose embedding width is `embDim` (GPT-2's head counts cannot be read off the
    /// weights' shapes: `emb_dim` determines them within the family), or nil.
    public static func withEmbDim(_ embDim: Int) -> GPT2Size? { allCases.first { $0.dimensions.embDim == embDim } }

    /// A size from the book's name (`"gpt2-small (124M)"`), the short one (`"gpt2-small"`, `"small"`),
    /// the parameter count (`"124M"`) or the Hub name (`"gpt2"`, `"openai-community/gpt2-xl"`); nil otherwise.
    public init?(named name: String) {
        let n = name.lowercased()
        for size in GPT2Size.allCases {
            let short = String(size.rawValue.prefix { $0 != " " })              // gpt2-small
            let count = String(size.rawValue.split(separator: "(").last!.dropLast())  // 124m
            let hub = size.hubRepoId.lowercased()
            if [size.rawValue.lowercased(), short, String(short.dropFirst(5)), count.lowercased(), hub,
                String(hub.dropFirst("openai-community/".count))].contains(n) {
                self = size
                return
            }
        }
        return nil
    }
}

extension GPTConfig {
    /// The book's `BASE_CONFIG` for OpenAI's weights (chapter 5.5): vocabulary 50257, context 1024,
    /// dropout 0.0, query/key/value biases — with a size's `model_configs` entry merged in.
    public static func gpt2(_ size: GPT2Size) -> GPTConfig {
        let d = size.dimensions
        return GPTConfig(vocabSize: 50257, contextLength: 1024, embDim: d.embDim, nHeads: d.nHeads,
                         nLayers: d.nLayers, dropRate: 0.0, qkvBias: true)
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
