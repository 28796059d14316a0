import Foundation

/// Where the Hub is and where its cache lives, read from the environment variables that `huggingface_hub`
/// reads, with the same defaults, so that Ember and Python share one cache.
///
/// Source: `huggingface_hub/constants.py`
/// (https://github.com/huggingface/huggingface_hub/blob/main/src/huggingface_hub/constants.py) and
/// https://huggingface.co/docs/huggingface_hub/package_reference/environment_variables.
public struct HubSettings: Sendable, Equatable {
    /// The Hub's base URL without a trailing `/`: `$HF_ENDPOINT`, default `https://huggingface.co`.
    public var endpoint: String
    /// The access token sent as `Authorization: Bearer …`: `$HF_TOKEN` (or the legacy
    /// `$HUGGING_FACE_HUB_TOKEN`), else the file `$HF_HOME/token` that `hf auth login` writes.
    public var token: String?
    /// `$HF_HUB_OFFLINE` (or `$TRANSFORMERS_OFFLINE`) is one of `1`, `ON`, `YES`, `TRUE`: no network call,
    /// files come from the cache only.
    public var offline: Bool
    /// The cache root that holds `models--ORG--NAME` folders: `$HF_HUB_CACHE`, else the legacy
    /// `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where `$HF_HOME` defaults to
    /// `$XDG_CACHE_HOME/huggingface` and that to `~/.cache/huggingface`.
    public var cacheDirectory: URL

    /// Settings read from `environment` (by default the process's).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ name: String) -> String? {
            guard let v = environment[name], !v.isEmpty else { return nil }
            return v
        }
        let home = value("HOME") ?? NSHomeDirectory()
        func expand(_ path: String) -> String {
            if path == "~" { return home }
            if path.hasPrefix("~/") { return home + path.dropFirst() }
            return path
        }
        var endpoint = value("HF_ENDPOINT") ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        let hfHome = expand(value("HF_HOME") ?? ((value("XDG_CACHE_HOME").map(expand) ?? home + "/.cache") + "/huggingface"))
        let cache = value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub"
        cacheDirectory = URL(fileURLWithPath: expand(cache), isDirectory: true)
        let trueValues: Set<String> = ["1", "ON", "YES", "TRUE"]
        offline = (value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE")).map { trueValues.contains($0.uppercased()) } ?? false
        if let t = value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN") {
            token = t.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let saved = try? String(contentsOfFile: hfHome + "/token", encoding: .utf8) {
            let t = saved.trimmingCharacters(in: .whitespacesAndNewlines)
            token = t.isEmpty ? nil : t
        } else {
            token = nil
        }
    }
}
