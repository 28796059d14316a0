import EmberCore
import EmberIO
import EmberNN
import Foundation
import OrderedCollections

/// LoRA adapters in Hugging Face PEFT's format: a directory with `adapter_config.json` and
/// `adapter_model.safetensors` (what `PeftModel.save_pretrained` writes and `PeftModel.from_pretrained`
/// reads). Source: https://huggingface.co/docs/peft/developer_guides/checkpoint (checkpoint format).
///
/// **Names.** The book's `GPTModel` is, to PEFT, a custom PyTorch model: `get_peft_model(model, config)`
/// wraps it as `base_model.model`, and its `nn.Linear`s keep the book's dotted names. So the adapter of
/// the LoRA layer at `trf_blocks.0.att.W_query` is stored as
/// - `base_model.model.trf_blocks.0.att.W_query.lora_A.weight` `[r, in]` = the book's `Aᵀ`,
/// - `base_model.model.trf_blocks.0.att.W_query.lora_B.weight` `[out, r]` = the book's `Bᵀ`,
///
/// and PEFT computes `lora_B(lora_A(x)) · lora_alpha / r` — the book's `(alpha / rank) · x·A·B`
/// (rasbt #821/#823). Ember writes `target_modules` as the full dotted names of the wrapped layers
/// (PEFT matches a name equal to an entry), so the adapter targets exactly those layers; the book's
/// leaf names (`["W_query", "W_key", "W_value", "out_proj", "layers.0", "layers.2", "out_head"]`)
/// would target the same ones in `GPTModel`. Python loads it with the book's model class:
/// `PeftModel.from_pretrained(GPTModel(cfg) with its weights, adapter_dir)`.
///
/// Only the LoRA factors are saved, not the base weights — a classification head created by
/// `manualSeed(123); Linear(768, 2)` (chapter 6) must be recreated the same way before loading. PEFT's
/// initialisation of `lora_A` differs from the book's (fan-in = `in` rather than `rank`); that only
/// matters for new adapters, not for saved ones.
public enum PEFTAdapter {
    /// `adapter_config.json`.
    public static let configName = "adapter_config.json"
    /// `adapter_model.safetensors`.
    public static let weightsName = "adapter_model.safetensors"
    /// PEFT's prefix for a custom model's modules.
    public static let keyPrefix = "base_model.model."

    /// `PeftModel.save_pretrained(dir)` of every `LinearWithLoRA` in `model` (created if `dir` is absent;
    /// each file written to a temporary name and renamed). The config's `r`/`lora_alpha` are the most
    /// common rank/alpha; modules that differ get `rank_pattern`/`alpha_pattern` entries (full names).
    /// - Parameters: `baseModelNameOrPath` (e.g. `openai-community/gpt2`), `taskType` (nil for the
    ///   book's model, as PEFT writes for a custom model).
    /// - Returns: the config written.
    /// - Throws: ``PretrainedError/unsupportedModel(path:reason:)`` when `model` has no LoRA layers,
    ///   ``PretrainedError/writeFailed(path:reason:)``.
    @discardableResult
    public static func save(_ model: Module, to dir: URL, baseModelNameOrPath: String? = nil,
                            taskType: String? = nil) throws(PretrainedError) -> PEFTLoRAConfig {
        let layers = loraLayers(of: model)
        guard !layers.isEmpty else {
            throw .unsupportedModel(path: dir.path, reason: "\(model.typeName) has no LoRA layers (call replaceLinearWithLoRA first)")
        }
        func mostCommon<T: Hashable>(_ xs: [T]) -> T {
            var counts: [T: Int] = [:]
            for x in xs { counts[x, default: 0] += 1 }
            return xs.first { counts[$0] == counts.values.max() }!
        }
        let rank = mostCommon(layers.map { $0.layer.lora.rank })
        let alpha = mostCommon(layers.map { $0.layer.lora.alpha })
        var config = PEFTLoRAConfig(r: rank, loraAlpha: alpha, targetModules: layers.map(\.path),
                                    baseModelNameOrPath: baseModelNameOrPath, taskType: taskType)
        var tensors = OrderedDictionary<String, Tensor>()
        for (path, l) in layers {
            if l.lora.rank != rank { config.rankPattern[path] = l.lora.rank }
            if l.lora.alpha != alpha { config.alphaPattern[path] = l.lora.alpha }
            tensors[keyPrefix + path + ".lora_A.weight"] = noGrad { l.lora.A.t().contiguous().cpu() }
            tensors[keyPrefix + path + ".lora_B.weight"] = noGrad { l.lora.B.t().contiguous().cpu() }
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try saveSafetensors(tensors, metadata: ["format": "pt"], to: dir.appendingPathComponent(weightsName))
            try config.jsonData().write(to: dir.appendingPathComponent(configName), options: .atomic)
        } catch {
            throw .writeFailed(path: dir.path, reason: "\(error)")
        }
        return config
    }

    /// Reads a PEFT LoRA adapter directory: its config and each module's factors in the book's layout
    /// (`A = lora_Aᵀ`, `B = lora_Bᵀ`, alpha chosen so that `alpha / r` is PEFT's scaling for that module).
    /// Takes `adapter_model.safetensors`, else a pickled `adapter_model.bin` (read without executing anything).
    /// - Throws: ``PretrainedError``: no adapter at `dir`; an invalid config; settings Ember does not
    ///   compute (`use_dora`, `bias` other than `none`, `fan_in_fan_out`, `modules_to_save`, tensors other
    ///   than `lora_A`/`lora_B`); a module with only one factor; a rank that contradicts the config.
    public static func read(_ dir: URL) throws(PretrainedError) -> (config: PEFTLoRAConfig, factors: OrderedDictionary<String, LoRAFactors>) {
        let configURL = dir.appendingPathComponent(configName)
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw .notFound(path: dir.path, reason: "a PEFT adapter directory needs \(configName)")
        }
        let config = try PEFTLoRAConfig.load(contentsOf: configURL)
        func unsupported(_ reason: String) -> PretrainedError { .unsupportedModel(path: configURL.path, reason: reason) }
        if config.useDora { throw unsupported("use_dora (DoRA) adapters are not supported") }
        if config.bias != "none" { throw unsupported("bias=\"\(config.bias)\": only adapters that train no bias are supported") }
        if config.fanInFanOut { throw unsupported("fan_in_fan_out=true is for Conv1D layers (Hugging Face's GPT2LMHeadModel); Ember loads adapters made on the book's GPTModel") }
        if let m = config.modulesToSave, !m.isEmpty { throw unsupported("modules_to_save \(m) is not supported") }
        let (tensors, file) = try readTensors(dir)
        var a: [String: Tensor] = [:], b: [String: Tensor] = [:], order: [String] = []
        for (key, t) in tensors {
            var k = key.hasPrefix(keyPrefix) ? String(key.dropFirst(keyPrefix.count)) : key
            let isA = k.hasSuffix(".lora_A.weight"), isB = k.hasSuffix(".lora_B.weight")
            guard isA || isB else { throw .unsupportedModel(path: file, reason: "tensor '\(key)' is not a lora_A/lora_B weight") }
            k.removeLast(".lora_A.weight".count)
            if !order.contains(k) { order.append(k) }
            if isA { a[k] = t } else { b[k] = t }
        }
        var factors = OrderedDictionary<String, LoRAFactors>()
        for path in order {
            guard let la = a[path], let lb = b[path] else {
                throw .missingTensor(path: file, key: keyPrefix + path + (a[path] == nil ? ".lora_A.weight" : ".lora_B.weight"))
            }
            let r = config.rank(for: path)
            guard la.ndim == 2, lb.ndim == 2, la.shape[0] == r, lb.shape[1] == r else {
                throw .shapeMismatch(path: file, key: keyPrefix + path + ".lora_A.weight", expected: [r, la.shape.last ?? 0], got: la.shape)
            }
            // The book's scaling is alpha / r: choose alpha so it equals PEFT's (rank-stabilised or not).
            let alpha = config.scaling(for: path) * Double(r)
            factors[path] = LoRAFactors(A: la.t(), B: lb.t(), alpha: alpha)
        }
        if factors.isEmpty { throw .unsupportedModel(path: file, reason: "the adapter has no LoRA weights") }
        return (config, factors)
    }

    /// `PeftModel.from_pretrained(model, dir)` for the book's model: wraps each module the adapter names
    /// in a `LinearWithLoRA` holding its factors (layers already wrapped take the new factors).
    /// `model` must be the base the adapter was trained on (same weights, same head).
    /// - Returns: the adapter's config.
    /// - Throws: what ``read(_:)`` throws, and ``PretrainedError/unsupportedModel(path:reason:)`` when a
    ///   named module is missing or is not a `Linear` of that shape; `model` is then unchanged.
    @discardableResult
    public static func load(_ dir: URL, into model: Module) throws(PretrainedError) -> PEFTLoRAConfig {
        let (config, factors) = try read(dir)
        do { try insertLoRA(factors, into: model) } catch {
            throw .unsupportedModel(path: dir.appendingPathComponent(weightsName).path, reason: "\(error)")
        }
        return config
    }

    static func readTensors(_ dir: URL) throws(PretrainedError) -> (OrderedDictionary<String, Tensor>, String) {
        let st = dir.appendingPathComponent(weightsName), bin = dir.appendingPathComponent("adapter_model.bin")
        do {
            if FileManager.default.fileExists(atPath: st.path) { return (try loadSafetensors(st, mapped: false).tensors, st.path) }
            if FileManager.default.fileExists(atPath: bin.path) {
                guard let d = try EmberIO.load(bin).tensorDict else { throw PretrainedError.unreadable(path: bin.path, reason: "not a dict of tensors") }
                return (d, bin.path)
            }
        } catch let e as PretrainedError {
            throw e
        } catch {
            throw .unreadable(path: FileManager.default.fileExists(atPath: st.path) ? st.path : bin.path, reason: "\(error)")
        }
        throw .notFound(path: dir.path, reason: "no \(weightsName) (or adapter_model.bin)")
    }
}
