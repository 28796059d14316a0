import EmberCore
import EmberIO
import EmberNN
import Foundation
import OrderedCollections

/// Where pretrained weights come from, as found on disk (see ``GPTModel/fromPretrained(_:config:dtype:tieWeights:dropRate:)``).
public enum PretrainedLayout: Equatable, Sendable {
    /// Hugging Face `GPT2LMHeadModel` keys (`[transformer.]wte.weight`, `h.0.attn.c_attn.weight`, …).
    case huggingFace
    /// The book's `GPTModel` keys (`tok_emb.weight`, `trf_blocks.0.att.W_query.weight`, …): the book's
    /// converted `gpt2-small-124M.pth` files, `torch.save(model.state_dict())`, Ember checkpoints.
    case book
}

/// Raw tensors read from a checkpoint, before mapping.
struct PretrainedTensors {
    var tensors: OrderedDictionary<String, Tensor>
    var layout: PretrainedLayout
    /// The config the files state (HF `config.json`, an Ember checkpoint's `config`), if any.
    var config: GPTConfig?
    /// HF `tie_word_embeddings` (true when unstated).
    var tieWordEmbeddings: Bool
    /// The file named in errors.
    var path: String
}

extension GPTModel {
    /// Loads pretrained weights into the book's model, whatever layout they come in (book chapter 5.5).
    ///
    /// `url` may be:
    /// - a Hugging Face model directory: `config.json` plus `model.safetensors`, or shards listed in
    ///   `model.safetensors.index.json`, or `pytorch_model.bin` (read by the `.pth` reader, which never
    ///   executes anything); keys with or without `transformer.`; mapped by ``GPT2WeightMap``;
    /// - a single `.safetensors` or `.pth`/`.bin` file in either layout: the book's converted
    ///   `gpt2-small-124M.pth`, `torch.save(model.state_dict())`, the book's `model_and_optimizer.pth`,
    ///   an `ember train` checkpoint, or a Hugging Face weights file (with `config.json` beside it, or
    ///   the config inferred from the shapes).
    ///
    /// The model is built on `meta` and takes the file's tensors with `loadStateDict(_:assign: true)`:
    /// no random initialisation is drawn, and tensors that need no transpose stay views of the
    /// memory-mapped file (copy-on-write) instead of a second copy in memory.
    ///
    /// - Parameters:
    ///   - config: the model's config; nil to read it from the files (`config.json`, an Ember
    ///     checkpoint) or infer it from the shapes (GPT-2's head count follows from `emb_dim`).
    ///   - dtype: `.float32` (default), `.bfloat16` or `.float16` for the parameters after loading.
    ///   - tieWeights: make `out_head.weight` the same Parameter as `tok_emb.weight`, as OpenAI's
    ///     GPT-2 and transformers' `GPT2LMHeadModel` do (one tensor, so a gradient step on one is seen by
    ///     the other: bug report https://github.com/rasbt/LLMs-from-scratch/issues/822). nil: tied for
    ///     Hugging Face files whose config does not say otherwise and for book files whose head equals
    ///     the embedding; false gives the book's `load_weights_into_gpt` (two equal Parameters).
    ///   - dropRate: the book's `drop_rate` when the config comes from a Hugging Face file (0.0, as
    ///     chapter 5.5's `BASE_CONFIG`).
    /// - Returns: the model in eval mode, on the CPU.
    /// - Throws: ``PretrainedError`` naming the file and key: no model at `url`, an unknown
    ///   `model_type` or unsupported setting, a missing tensor, a shape that contradicts the config,
    ///   a corrupt file.
    public static func fromPretrained(_ url: URL, config: GPTConfig? = nil, dtype: DType = .float32,
                                      tieWeights: Bool? = nil, dropRate: Double = 0.0) throws(PretrainedError) -> GPTModel {
        let raw = try readPretrainedTensors(url, dropRate: dropRate)
        let cfg: GPTConfig
        if let config { cfg = config } else if let c = raw.config { cfg = c } else { cfg = try inferConfig(raw, dropRate: dropRate) }
        var sd: OrderedDictionary<String, Tensor>
        switch raw.layout {
        case .huggingFace: sd = try mapHuggingFace(raw, config: cfg)
        case .book: sd = try checkBook(raw, config: cfg)
        }
        let tie: Bool
        if let tieWeights { tie = tieWeights } else if raw.layout == .huggingFace {
            tie = raw.tieWordEmbeddings && raw.tensors[hfKey: "lm_head.weight"] == nil
        } else {
            tie = sd["out_head.weight"].map { $0 === sd["tok_emb.weight"]! || $0.equal(sd["tok_emb.weight"]!) } ?? false
        }
        if !tie, let head = sd["out_head.weight"], head.storage === sd["tok_emb.weight"]!.storage {
            sd["out_head.weight"] = head.clone()   // the book's assign(): two Parameters, two copies
        }
        let model = GPTModel(cfg, device: .meta)
        do {
            try model.loadStateDict(sd, strict: true, assign: true)
        } catch {
            throw .unsupportedModel(path: raw.path, reason: "\(error)")
        }
        if tie { model.out_head.weight = model.tok_emb.weight }
        if dtype != .float32 { model.to(dtype) }
        model.eval()
        return model
    }

    /// Reads the tensors and any stated config from `url` (see ``fromPretrained(_:config:dtype:tieWeights:dropRate:)``).
    static func readPretrainedTensors(_ url: URL, dropRate: Double) throws(PretrainedError) -> PretrainedTensors {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw .notFound(path: url.path, reason: "no such file or directory")
        }
        if isDir.boolValue { return try readHuggingFaceDirectory(url, dropRate: dropRate) }
        var raw = try readWeightsFile(url)
        if raw.layout == .huggingFace, raw.config == nil {
            // A lone HF weights file: its config.json, if it sits beside it.
            let configURL = url.deletingLastPathComponent().appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: configURL.path) {
                let hf = try HFGPT2Config.load(contentsOf: configURL)
                raw.config = try hf.gptConfig(dropRate: dropRate, path: configURL.path)
                raw.tieWordEmbeddings = hf.tieWordEmbeddings ?? true
            }
        }
        return raw
    }

    static func readHuggingFaceDirectory(_ dir: URL, dropRate: Double) throws(PretrainedError) -> PretrainedTensors {
        let fm = FileManager.default
        let configURL = dir.appendingPathComponent("config.json")
        guard fm.fileExists(atPath: configURL.path) else {
            throw .notFound(path: dir.path, reason: "a model directory needs config.json (Hugging Face's layout)")
        }
        let hf = try HFGPT2Config.load(contentsOf: configURL)
        let cfg = try hf.gptConfig(dropRate: dropRate, path: configURL.path)
        var tensors = OrderedDictionary<String, Tensor>()
        let single = dir.appendingPathComponent("model.safetensors")
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        let bin = dir.appendingPathComponent("pytorch_model.bin")
        var path = single.path
        if fm.fileExists(atPath: single.path) {
            tensors = try readSafetensors(single)
        } else if fm.fileExists(atPath: index.path) {
            path = index.path
            for shard in try shardFiles(index) {
                let url = dir.appendingPathComponent(shard)
                guard fm.fileExists(atPath: url.path) else { throw .notFound(path: url.path, reason: "listed in \(index.lastPathComponent) but absent") }
                for (k, v) in try readSafetensors(url) { tensors[k] = v }
            }
        } else if fm.fileExists(atPath: bin.path) {
            path = bin.path
            tensors = try readPth(bin).tensors
        } else {
            throw .notFound(path: dir.path, reason: "no model.safetensors, model.safetensors.index.json or pytorch_model.bin")
        }
        return PretrainedTensors(tensors: tensors, layout: .huggingFace, config: cfg,
                                 tieWordEmbeddings: hf.tieWordEmbeddings ?? true, path: path)
    }

    /// The shard file names of a `model.safetensors.index.json` (`weight_map` values), in first-use order.
    static func shardFiles(_ index: URL) throws(PretrainedError) -> [String] {
        struct Index: Decodable { let weight_map: [String: String] }
        let parsed: Index
        do { parsed = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index)) } catch {
            throw .invalidConfig(path: index.path, reason: "not a safetensors index with a 'weight_map' (\(error))")
        }
        var seen = OrderedSet<String>()
        for name in parsed.weight_map.values.sorted() {
            // A shard is a plain file name next to the index: never a path out of the directory.
            guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != ".." else {
                throw .invalidConfig(path: index.path, reason: "shard name '\(name)' is not a file name in the model directory")
            }
            seen.append(name)
        }
        return Array(seen)
    }

    static func readSafetensors(_ url: URL) throws(PretrainedError) -> OrderedDictionary<String, Tensor> {
        do { return try loadSafetensors(url, mapped: true).tensors } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
    }

    static func readPth(_ url: URL) throws(PretrainedError) -> (tensors: OrderedDictionary<String, Tensor>, root: StateValue) {
        let value: StateValue
        do { value = try EmberIO.load(url, mapLocation: .cpu, mmap: true) } catch {
            throw .unreadable(path: url.path, reason: "\(error)")
        }
        // The book's model_and_optimizer.pth and Ember's checkpoints keep the model under model_state_dict.
        let model = value["model_state_dict"] ?? value
        guard let d = model.tensorDict else {
            throw .unreadable(path: url.path, reason: "not a state dict (a dictionary of tensors) nor a checkpoint with 'model_state_dict'")
        }
        return (d, value)
    }

    static func readWeightsFile(_ url: URL) throws(PretrainedError) -> PretrainedTensors {
        var tensors: OrderedDictionary<String, Tensor>
        var config: GPTConfig?
        if url.pathExtension.lowercased() == "safetensors" {
            tensors = try readSafetensors(url)
        } else {
            let (d, root) = try readPth(url)
            tensors = d
            if root["config"] != nil {
                do { config = try TrainingCheckpoint(root, path: url.path).config } catch {
                    throw .invalidConfig(path: url.path, reason: "\(error)")
                }
            }
        }
        let layout: PretrainedLayout
        if tensors["tok_emb.weight"] != nil {
            layout = .book
        } else if tensors[hfKey: "wte.weight"] != nil {
            layout = .huggingFace
        } else {
            throw .unsupportedModel(path: url.path, reason: "neither the book's GPTModel keys (tok_emb.weight, …) nor Hugging Face GPT-2 keys (wte.weight, …)")
        }
        return PretrainedTensors(tensors: tensors, layout: layout, config: config, tieWordEmbeddings: true, path: url.path)
    }

    /// A config from the tensors' shapes: vocabulary, context, width, depth, qkv biases; the head count
    /// from GPT-2's family (`emb_dim` 768 → 12, 1024 → 16, 1280 → 20, 1600 → 25).
    static func inferConfig(_ raw: PretrainedTensors, dropRate: Double) throws(PretrainedError) -> GPTConfig {
        let book = raw.layout == .book
        let emb = book ? raw.tensors["tok_emb.weight"] : raw.tensors[hfKey: "wte.weight"]
        let pos = book ? raw.tensors["pos_emb.weight"] : raw.tensors[hfKey: "wpe.weight"]
        guard let emb, emb.ndim == 2 else { throw .missingTensor(path: raw.path, key: book ? "tok_emb.weight" : "wte.weight") }
        guard let pos, pos.ndim == 2 else { throw .missingTensor(path: raw.path, key: book ? "pos_emb.weight" : "wpe.weight") }
        let prefix = book ? "trf_blocks." : "h."
        var layers = Set<Int>()
        for key in raw.tensors.keys {
            let k = book ? key : GPT2WeightMap.stripPrefix(key)
            guard k.hasPrefix(prefix), let n = Int(k.dropFirst(prefix.count).prefix { $0 != "." }) else { continue }
            layers.insert(n)
        }
        let nLayers = layers.count
        guard nLayers > 0, layers == Set(0..<nLayers) else {
            throw .unsupportedModel(path: raw.path, reason: "its blocks are not numbered 0..<n (found \(layers.sorted().prefix(8)))")
        }
        guard let size = GPT2Size.withEmbDim(emb.shape[1]) else {
            throw .invalidConfig(path: raw.path, reason: "the file has no config and emb_dim \(emb.shape[1]) is not a GPT-2 size, so n_heads is unknown; pass the config (ember: --n-heads)")
        }
        let qkvBias = book ? raw.tensors["trf_blocks.0.att.W_query.bias"] != nil : true
        return GPTConfig(vocabSize: emb.shape[0], contextLength: pos.shape[0], embDim: emb.shape[1],
                         nHeads: size.dimensions.nHeads, nLayers: nLayers, dropRate: dropRate, qkvBias: qkvBias)
    }

    /// The book's state dict from Hugging Face tensors, checking every shape against `config` first.
    /// `table` replaces ``GPT2WeightMap/table(nLayers:qkvBias:)`` (tests prove a wrong table fails).
    static func mapHuggingFace(_ raw: PretrainedTensors, config cfg: GPTConfig,
                               table: [GPT2WeightMap.Entry]? = nil) throws(PretrainedError) -> OrderedDictionary<String, Tensor> {
        let meta = GPTModel(cfg.with(qkvBias: true), device: .meta).stateDict()
        var out = OrderedDictionary<String, Tensor>()
        for entry in table ?? GPT2WeightMap.table(nLayers: cfg.nLayers, qkvBias: cfg.qkvBias) {
            guard let src = raw.tensors[hfKey: entry.hfKey] else { throw .missingTensor(path: raw.path, key: entry.hfKey) }
            let bookShape = meta[entry.bookKey]!.shape
            let expected: [Int]
            switch entry.transform {
            case .copy: expected = bookShape
            case .transpose: expected = bookShape.reversed()
            case .qkvPart(_, let transposed): expected = transposed ? [bookShape[1], 3 * bookShape[0]] : [3 * bookShape[0]]
            }
            guard src.shape == expected else { throw .shapeMismatch(path: raw.path, key: entry.hfKey, expected: expected, got: src.shape) }
            guard src.isFloatingPoint else { throw .unreadable(path: raw.path, reason: "tensor '\(entry.hfKey)' is \(src.dtype), not floating point") }
            out[entry.bookKey] = GPT2WeightMap.apply(entry.transform, to: src.dtype == .float32 ? src : src.to(.float32))
            // A transposed copy leaves the file's pages it read resident: give them back (a later part
            // of the same c_attn maps them again), so loading holds one copy of each weight, not two.
            if entry.transform != .copy { releaseMappedPages(of: src) }
        }
        let head = raw.tensors[hfKey: "lm_head.weight"] ?? out["tok_emb.weight"]!
        guard head.shape == [cfg.vocabSize, cfg.embDim] else {
            throw .shapeMismatch(path: raw.path, key: "lm_head.weight", expected: [cfg.vocabSize, cfg.embDim], got: head.shape)
        }
        out["out_head.weight"] = head.dtype == .float32 ? head : head.to(.float32)
        // The causal masks `triu(ones, 1)`, one per block as the book's model has (the file has none).
        for i in 0..<cfg.nLayers { out["trf_blocks.\(i).att.mask"] = causalMask(cfg.contextLength) }
        return out
    }

    /// A book-layout state dict checked against `config` (every key, every shape), with `att.mask`
    /// rebuilt where the file leaves it out and half-precision tensors widened.
    static func checkBook(_ raw: PretrainedTensors, config cfg: GPTConfig) throws(PretrainedError) -> OrderedDictionary<String, Tensor> {
        let meta = GPTModel(cfg, device: .meta).stateDict()
        var out = OrderedDictionary<String, Tensor>()
        for (key, m) in meta {
            guard let src = raw.tensors[key] else {
                if key.hasSuffix(".att.mask") {
                    out[key] = causalMask(cfg.contextLength)
                    continue
                }
                throw .missingTensor(path: raw.path, key: key)
            }
            guard src.shape == m.shape else { throw .shapeMismatch(path: raw.path, key: key, expected: m.shape, got: src.shape) }
            out[key] = src.isFloatingPoint && src.dtype != .float32 ? src.to(.float32) : src
        }
        return out
    }
}

/// The book's causal mask buffer: `[n, n]` float32, 1 above the diagonal (`torch.triu(torch.ones(n, n), diagonal=1)`).
func causalMask(_ n: Int) -> Tensor { Tensor.ones([n, n]).triu(diagonal: 1) }

extension OrderedDictionary where Key == String, Value == Tensor {
    /// A Hugging Face tensor by its key without the `transformer.` prefix, whichever way the file spells it.
    subscript(hfKey key: String) -> Tensor? { self[key] ?? self["transformer." + key] }
}
