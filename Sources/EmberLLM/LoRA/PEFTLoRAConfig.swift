import Foundation

/// PEFT's `adapter_config.json` for a LoRA adapter: the fields that decide what the adapter computes.
///
/// Ember reads any PEFT LoRA config (fields it does not need are ignored) and writes the long-standing
/// fields with PEFT's defaults, keys sorted as `save_pretrained` writes them. Scaling is
/// `lora_alpha / r` (`lora_alpha / √r` with `use_rslora`), per module `rank_pattern` /
/// `alpha_pattern` overriding `r` / `lora_alpha` for modules whose dotted name matches
/// `(.*\.)?(<pattern>)$` (PEFT's `get_pattern_key`).
/// Source: https://huggingface.co/docs/peft/package_reference/lora (LoraConfig),
/// https://github.com/huggingface/peft/blob/main/src/peft/tuners/lora/config.py
public struct PEFTLoRAConfig: Equatable, Sendable {
    /// `peft_type`: always `"LORA"` here.
    public var peftType = "LORA"
    /// `r`: the default rank.
    public var r: Int
    /// `lora_alpha`: the default scaling numerator.
    public var loraAlpha: Double
    /// `target_modules` as a list of names (PEFT matches a module whose dotted name equals an entry or
    /// ends with `.<entry>`); nil when the file gives a regex string (``targetModulesRegex``).
    public var targetModules: [String]?
    /// `target_modules` when the file gives one regex string (matched against the full name).
    public var targetModulesRegex: String?
    /// `lora_dropout` (training only; Ember's `LoRALayer` has none, as the book's).
    public var loraDropout: Double = 0
    /// `bias`: `"none"` (Ember supports only that: no bias is trained).
    public var bias = "none"
    /// `fan_in_fan_out`: true for Conv1D base layers (Hugging Face's GPT-2); the book's `Linear`s are not.
    public var fanInFanOut = false
    /// `use_rslora`: scaling `lora_alpha / √r` instead of `lora_alpha / r`.
    public var useRslora = false
    /// `use_dora` (not supported by Ember).
    public var useDora = false
    /// `rank_pattern`: per-module ranks.
    public var rankPattern: [String: Int] = [:]
    /// `alpha_pattern`: per-module alphas.
    public var alphaPattern: [String: Double] = [:]
    /// `modules_to_save` (not supported by Ember: no full-module copies are saved).
    public var modulesToSave: [String]?
    /// `base_model_name_or_path`: what the adapter was trained on (`openai-community/gpt2`).
    public var baseModelNameOrPath: String?
    /// `task_type` (`"SEQ_CLS"`, `"CAUSAL_LM"`, …); nil for a custom model such as the book's `GPTModel`.
    public var taskType: String?
    /// `inference_mode`.
    public var inferenceMode = true

    public init(r: Int, loraAlpha: Double, targetModules: [String]?, baseModelNameOrPath: String? = nil, taskType: String? = nil) {
        self.r = r
        self.loraAlpha = loraAlpha
        self.targetModules = targetModules
        self.baseModelNameOrPath = baseModelNameOrPath
        self.taskType = taskType
    }

    /// The rank PEFT gives the module at dotted path `module`.
    public func rank(for module: String) -> Int {
        patternKey(Array(rankPattern.keys), module).flatMap { rankPattern[$0] } ?? r
    }

    /// The scaling PEFT applies to the module's `lora_B(lora_A(x))`.
    public func scaling(for module: String) -> Double {
        let alpha = patternKey(Array(alphaPattern.keys), module).flatMap { alphaPattern[$0] } ?? loraAlpha
        let r = Double(rank(for: module))
        return useRslora ? alpha / r.squareRoot() : alpha / r
    }

    /// PEFT's `get_pattern_key`: the first pattern `p` with `(.*\.)?(p)$` matching all of `key`.
    /// Patterns are tried longest first so the choice does not depend on dictionary order.
    func patternKey(_ patterns: [String], _ key: String) -> String? {
        for p in patterns.sorted(by: { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }) {
            guard let re = try? NSRegularExpression(pattern: "^(.*\\.)?(\(p))$") else { continue }
            if re.firstMatch(in: key, range: NSRange(key.startIndex..., in: key)) != nil { return p }
        }
        return nil
    }
}

extension PEFTLoRAConfig {
    /// Parses `adapter_config.json`.
    /// - Throws: ``PretrainedError/invalidConfig(path:reason:)`` for malformed JSON, a `peft_type`
    ///   other than `LORA`, or a missing/invalid `r` or `lora_alpha`.
    public static func load(contentsOf url: URL) throws(PretrainedError) -> PEFTLoRAConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .notFound(path: url.path, reason: error.localizedDescription) }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidConfig(path: url.path, reason: "not a JSON object")
        }
        func fail(_ reason: String) -> PretrainedError { .invalidConfig(path: url.path, reason: reason) }
        func number(_ key: String) -> Double? {
            (obj[key] as? NSNumber)?.doubleValue
        }
        let type = obj["peft_type"] as? String ?? "LORA"
        guard type == "LORA" else { throw fail("peft_type is \(type); only LORA adapters are supported") }
        guard let r = number("r"), r >= 1, r == r.rounded(), r < 1e9 else { throw fail("r must be a positive integer") }
        guard let alpha = number("lora_alpha"), alpha.isFinite else { throw fail("lora_alpha must be a number") }
        var c = PEFTLoRAConfig(r: Int(r), loraAlpha: alpha, targetModules: nil)
        switch obj["target_modules"] {
        case let list as [Any]: c.targetModules = list.compactMap { $0 as? String }
        case let s as String: c.targetModulesRegex = s
        default: break
        }
        c.loraDropout = number("lora_dropout") ?? 0
        c.bias = obj["bias"] as? String ?? "none"
        c.fanInFanOut = obj["fan_in_fan_out"] as? Bool ?? false
        c.useRslora = obj["use_rslora"] as? Bool ?? false
        c.useDora = obj["use_dora"] as? Bool ?? false
        for (k, v) in obj["rank_pattern"] as? [String: Any] ?? [:] {
            guard let n = v as? NSNumber, n.doubleValue >= 1, n.doubleValue == n.doubleValue.rounded() else { throw fail("rank_pattern[\(k)] must be a positive integer") }
            c.rankPattern[k] = n.intValue
        }
        for (k, v) in obj["alpha_pattern"] as? [String: Any] ?? [:] {
            guard let n = v as? NSNumber else { throw fail("alpha_pattern[\(k)] must be a number") }
            c.alphaPattern[k] = n.doubleValue
        }
        c.modulesToSave = (obj["modules_to_save"] as? [Any])?.compactMap { $0 as? String }
        c.baseModelNameOrPath = obj["base_model_name_or_path"] as? String
        c.taskType = obj["task_type"] as? String
        c.inferenceMode = obj["inference_mode"] as? Bool ?? true
        return c
    }

    /// The JSON object PEFT's `LoraConfig.save_pretrained` writes (long-standing fields only, so older
    /// PEFT versions read it too), keys sorted, two-space indent.
    public func jsonData() -> Data {
        func num(_ x: Double) -> Any { x == x.rounded() && Swift.abs(x) < 1e15 ? Int(x) as Any : x as Any }
        let obj: [String: Any] = [
            "alpha_pattern": alphaPattern.mapValues(num),
            "base_model_name_or_path": baseModelNameOrPath as Any? ?? NSNull(),
            "bias": bias,
            "fan_in_fan_out": fanInFanOut,
            "inference_mode": inferenceMode,
            "init_lora_weights": true,
            "layers_pattern": NSNull(),
            "layers_to_transform": NSNull(),
            "lora_alpha": num(loraAlpha),
            "lora_dropout": loraDropout,
            "modules_to_save": modulesToSave as Any? ?? NSNull(),
            "peft_type": peftType,
            "r": r,
            "rank_pattern": rankPattern,
            "revision": NSNull(),
            "target_modules": (targetModules as Any?) ?? (targetModulesRegex as Any?) ?? NSNull(),
            "task_type": taskType as Any? ?? NSNull(),
            "use_dora": useDora,
            "use_rslora": useRslora,
        ]
        // JSONSerialization's pretty printing indents by two spaces; PEFT's json.dumps(indent=2, sort_keys=True).
        return (try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
