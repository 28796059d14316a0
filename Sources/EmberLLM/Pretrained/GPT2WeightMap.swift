import EmberCore
import OrderedCollections

/// The one table that says how each tensor of the book's ``GPTModel`` comes from a Hugging Face
/// GPT-2 checkpoint (`GPT2LMHeadModel`, e.g. `openai-community/gpt2`), and back.
///
/// It is the book's `load_weights_into_gpt` (chapter 5.5) written as data. Hugging Face's GPT-2 uses
/// `Conv1D` layers, whose weights are stored `[in, out]` — transposed relative to `nn.Linear`'s
/// `[out, in]` — and keeps the query, key and value projections in one `c_attn` of `[E, 3E]`
/// (concatenated on the last axis):
///
/// | book key (block `i`) | Hugging Face key | transform |
/// | --- | --- | --- |
/// | `tok_emb.weight` | `wte.weight` | copy |
/// | `pos_emb.weight` | `wpe.weight` | copy |
/// | `trf_blocks.i.att.W_query.weight` / `W_key` / `W_value` | `h.i.attn.c_attn.weight` | `chunk(3, dim=-1)[0/1/2].T` |
/// | `trf_blocks.i.att.W_query.bias` / `W_key` / `W_value` | `h.i.attn.c_attn.bias` | `chunk(3, dim=-1)[0/1/2]` |
/// | `trf_blocks.i.att.out_proj.weight` | `h.i.attn.c_proj.weight` | `.T` |
/// | `trf_blocks.i.att.out_proj.bias` | `h.i.attn.c_proj.bias` | copy |
/// | `trf_blocks.i.ff.layers.0.weight` / `.bias` | `h.i.mlp.c_fc.weight` / `.bias` | `.T` / copy |
/// | `trf_blocks.i.ff.layers.2.weight` / `.bias` | `h.i.mlp.c_proj.weight` / `.bias` | `.T` / copy |
/// | `trf_blocks.i.norm1.scale` / `.shift` | `h.i.ln_1.weight` / `.bias` | copy |
/// | `trf_blocks.i.norm2.scale` / `.shift` | `h.i.ln_2.weight` / `.bias` | copy |
/// | `final_norm.scale` / `.shift` | `ln_f.weight` / `.bias` | copy |
/// | `out_head.weight` | `lm_head.weight`, else `wte.weight` | copy (tied to `tok_emb` in GPT-2) |
///
/// Hugging Face keys may carry the `transformer.` prefix (`save_pretrained`) or not (the Hub's
/// original `openai-community/gpt2` files). `h.i.attn.bias` and `h.i.attn.masked_bias` are causal-mask
/// buffers, not weights: they are ignored; the book's `att.mask` is rebuilt from `context_length`.
///
/// The square matrices (`c_attn` parts, `c_proj`) keep their shape when transposed, so a forgotten
/// transpose cannot be caught by shapes (nanoGPT issue #190,
/// https://github.com/karpathy/nanoGPT/issues/190); the tests compare logits with transformers'.
public enum GPT2WeightMap {
    /// How a book tensor is made from its Hugging Face source.
    public enum Transform: Equatable, Sendable {
        /// The same values and shape.
        case copy
        /// `.T` of a 2-D `Conv1D` weight (`[in, out]` → `[out, in]`).
        case transpose
        /// Part `part` (0 query, 1 key, 2 value) of `chunk(3, dim=-1)`, then `.T` when `transposed` (weights).
        case qkvPart(Int, transposed: Bool)
    }

    /// One row of the table.
    public struct Entry: Equatable, Sendable {
        /// The key in the book's `GPTModel.stateDict()`.
        public let bookKey: String
        /// The Hugging Face key, without the `transformer.` prefix.
        public let hfKey: String
        /// What turns the Hugging Face tensor into the book's.
        public let transform: Transform
    }

    /// The mapping for `nLayers` blocks (without `out_head`, which depends on tying, and without the
    /// `att.mask` buffers, which Hugging Face files do not hold).
    public static func table(nLayers: Int, qkvBias: Bool = true) -> [Entry] {
        var t: [Entry] = [Entry(bookKey: "tok_emb.weight", hfKey: "wte.weight", transform: .copy),
                          Entry(bookKey: "pos_emb.weight", hfKey: "wpe.weight", transform: .copy)]
        for i in 0..<nLayers {
            let b = "trf_blocks.\(i).", h = "h.\(i)."
            for (part, name) in ["W_query", "W_key", "W_value"].enumerated() {
                t.append(Entry(bookKey: b + "att.\(name).weight", hfKey: h + "attn.c_attn.weight", transform: .qkvPart(part, transposed: true)))
                if qkvBias {
                    t.append(Entry(bookKey: b + "att.\(name).bias", hfKey: h + "attn.c_attn.bias", transform: .qkvPart(part, transposed: false)))
                }
            }
            t += [Entry(bookKey: b + "att.out_proj.weight", hfKey: h + "attn.c_proj.weight", transform: .transpose),
                  Entry(bookKey: b + "att.out_proj.bias", hfKey: h + "attn.c_proj.bias", transform: .copy),
                  Entry(bookKey: b + "ff.layers.0.weight", hfKey: h + "mlp.c_fc.weight", transform: .transpose),
                  Entry(bookKey: b + "ff.layers.0.bias", hfKey: h + "mlp.c_fc.bias", transform: .copy),
                  Entry(bookKey: b + "ff.layers.2.weight", hfKey: h + "mlp.c_proj.weight", transform: .transpose),
                  Entry(bookKey: b + "ff.layers.2.bias", hfKey: h + "mlp.c_proj.bias", transform: .copy),
                  Entry(bookKey: b + "norm1.scale", hfKey: h + "ln_1.weight", transform: .copy),
                  Entry(bookKey: b + "norm1.shift", hfKey: h + "ln_1.bias", transform: .copy),
                  Entry(bookKey: b + "norm2.scale", hfKey: h + "ln_2.weight", transform: .copy),
                  Entry(bookKey: b + "norm2.shift", hfKey: h + "ln_2.bias", transform: .copy)]
        }
        t += [Entry(bookKey: "final_norm.scale", hfKey: "ln_f.weight", transform: .copy),
              Entry(bookKey: "final_norm.shift", hfKey: "ln_f.bias", transform: .copy)]
        return t
    }

    /// Whether a Hugging Face key is a buffer that loaders skip (`h.i.attn.bias`, `h.i.attn.masked_bias`).
    public static func isIgnoredHFKey(_ key: String) -> Bool {
        let k = stripPrefix(key)
        return k.hasPrefix("h.") && (k.hasSuffix(".attn.bias") || k.hasSuffix(".attn.masked_bias"))
    }

    /// `key` without a leading `transformer.`.
    public static func stripPrefix(_ key: String) -> String {
        key.hasPrefix("transformer.") ? String(key.dropFirst("transformer.".count)) : key
    }

    /// Applies `transform` to a Hugging Face tensor: contiguous row-major `[out, in]` weights as
    /// `nn.Linear` holds them. `.copy` returns a contiguous tensor as it is (a view of a memory-mapped
    /// file stays one); the other transforms make storage of their own.
    public static func apply(_ transform: Transform, to t: Tensor) -> Tensor {
        switch transform {
        case .copy:
            return t.contiguous()
        case .transpose:
            return t.t().contiguous()
        case let .qkvPart(part, transposed):
            let e = t.shape[t.ndim - 1] / 3
            let chunk = t.narrow(t.ndim - 1, start: part * e, length: e)       // chunk(3, dim=-1)[part]
            // A bias part is already contiguous: clone it, so the three never share memory (a state
            // dict with shared tensors cannot be saved as safetensors, and PyTorch's copies share none).
            return transposed ? chunk.t().contiguous() : chunk.clone()
        }
    }

    /// The book's state dict as Hugging Face keys (without the `transformer.` prefix): the inverse of
    /// ``table(nLayers:qkvBias:)`` — query/key/value weights transposed back and concatenated into
    /// `c_attn`, the other linear weights transposed to `Conv1D`'s `[in, out]`. A model without
    /// query/key/value biases (`qkv_bias` false, the book's `GPT_CONFIG_124M`) gets a zero `c_attn.bias`:
    /// GPT-2 always has one, and zeros compute the same function. `out_head.weight` becomes
    /// `lm_head.weight` only when its values differ from `tok_emb.weight` (else the two are tied).
    /// Every tensor is contiguous float32 on the CPU, as `save_pretrained` writes them.
    /// - Returns: nil when a key of the table is missing from `stateDict`.
    public static func hfStateDict(fromBook stateDict: OrderedDictionary<String, Tensor>, config: GPTConfig)
        -> OrderedDictionary<String, Tensor>? {
        var out = OrderedDictionary<String, Tensor>()
        var qkv: [String: [Tensor?]] = [:]
        for entry in table(nLayers: config.nLayers, qkvBias: true) {
            let src: Tensor
            if let t = stateDict[entry.bookKey] {
                src = t.to(.cpu).to(.float32)
            } else if !config.qkvBias, case .qkvPart(_, transposed: false) = entry.transform {
                src = Tensor.zeros([config.embDim])
            } else {
                return nil
            }
            switch entry.transform {
            case .copy: out[entry.hfKey] = src.contiguous()
            case .transpose: out[entry.hfKey] = src.t().contiguous()
            case let .qkvPart(part, transposed):
                if out[entry.hfKey] == nil { out[entry.hfKey] = Tensor.empty([0]) }   // keep the table's key order
                var parts = qkv[entry.hfKey] ?? [nil, nil, nil]
                parts[part] = transposed ? src.t() : src
                qkv[entry.hfKey] = parts
                if parts.allSatisfy({ $0 != nil }) {
                    out[entry.hfKey] = Tensor.cat(parts.map { $0! }, dim: parts[0]!.ndim - 1).contiguous()
                }
            }
        }
        if let head = stateDict["out_head.weight"], let emb = stateDict["tok_emb.weight"],
           !(head.shape == emb.shape && head.to(.cpu).equal(emb.to(.cpu))) {
            out["lm_head.weight"] = head.to(.cpu).to(.float32).contiguous()
        }
        return out
    }
}
