/// Every named ``GPTConfig`` in one place: the book's `GPT_CONFIG_124M` and GPT-2 sizes (chapters 4
/// and 5), the `tiny` model for quick runs, OpenAI's weights' `BASE_CONFIG` (``GPT2Size``,
/// ``GPTConfig/gpt2(_:)``) and the name lookups `ember` uses (``GPTConfig/preset(named:)``,
/// ``GPTConfig/trainingPreset(named:)``, ``GPT2Size/init(named:)``).
///
/// Source: *Build a Large Language Model From Scratch*, ch. 4 (`GPT_CONFIG_124M`), exercise 4.2 and
/// ch. 5.5 (`BASE_CONFIG`, `model_configs`).
extension GPTConfig {
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

    /// A small model for quick runs and tests: GPT-2's vocabulary, `emb_dim` 64, 2 layers, 2 heads,
    /// `context_length` 64, dropout 0.1 (about 6.5 M parameters, most in the embeddings).
    public static let tiny = gpt2Small124M.with(contextLength: 64, embDim: 64, nHeads: 2, nLayers: 2)

    /// The names `ember train --preset` accepts: ``preset(named:)``'s GPT-2 sizes plus `tiny`.
    public static let trainingPresetNames = ["tiny", "gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl"]

    /// ``tiny`` for `"tiny"`, else ``preset(named:)``.
    public static func trainingPreset(named name: String) -> GPTConfig? {
        name.lowercased() == "tiny" ? tiny : preset(named: name)
    }

    /// The book's `BASE_CONFIG` for OpenAI's weights (chapter 5.5): vocabulary 50257, context 1024,
    /// dropout 0.0, query/key/value biases — with a size's `model_configs` entry merged in.
    public static func gpt2(_ size: GPT2Size) -> GPTConfig {
        let d = size.dimensions
        return GPTConfig(vocabSize: 50257, contextLength: 1024, embDim: d.embDim, nHeads: d.nHeads,
                         nLayers: d.nLayers, dropRate: 0.0, qkvBias: true)
    }
}

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
