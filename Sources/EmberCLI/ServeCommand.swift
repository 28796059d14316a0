import ArgumentParser
import Ember
import EmberServe
import Foundation
import Logging

/// `ember serve`: an OpenAI-compatible HTTP server (chat and text completions, streamed or whole,
/// with continuous batching) and a chat page at `/`, for one or more models (``EmberServer``).
///
/// Each `--model`/`--checkpoint` may be written `NAME=SOURCE`; the name is what clients send as
/// `model` (default: the source as given, or a checkpoint's file name without extension).
/// `--chat-template NAME=alpaca` (or `alpaca` for every model) makes chat requests use the book's
/// chapter-7 Alpaca prompt, for instruction-finetuned models; the default `plain` suits base models.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over an OpenAI-compatible HTTP API, with a chat page at /.")

    @Option(help: ArgumentHelp("Pretrained weights to serve, [NAME=]M: a Hub id, a GPT-2 size, a model directory or weights file (repeatable).",
                               valueName: "name=model"))
    var model: [String] = []
    @Option(help: ArgumentHelp("A checkpoint to serve, [NAME=]FILE: an ember train checkpoint, the book's model_and_optimizer.pth or a state dict (repeatable).",
                               valueName: "name=file"))
    var checkpoint: [String] = []
    @Option(help: "Hub branch, tag or commit for --model.")
    var revision = "main"
    @Option(help: ArgumentHelp("Chat prompt format: plain or alpaca (the book's chapter-7 instruction prompt), for all models or NAME=TEMPLATE (repeatable).",
                               valueName: "template"))
    var chatTemplate: [String] = []
    @Option(help: "Interface to listen on.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).")
    var port = 8080
    @Option(help: "Require 'Authorization: Bearer KEY' on /v1 (default: $EMBER_API_KEY if set, else no key).")
    var apiKey: String?
    @Option(help: "Requests decoded together in one forward pass, per model.")
    var maxBatch = 8
    @Option(help: "Requests waiting for a batch row, per model; more get 503 with Retry-After.")
    var maxQueue = 64
    @Option(help: "Largest request body in bytes (larger: 413).")
    var maxBodyBytes = 4 << 20

    @OptionGroup(title: "Model (for checkpoints without a saved config)")
    var options: ModelOptions

    func validate() throws {
        guard !model.isEmpty || !checkpoint.isEmpty else { throw ValidationError("give at least one --model or --checkpoint") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must lie in 0...65535, got \(port)") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1, got \(maxBatch)") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must not be negative, got \(maxQueue)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024, got \(maxBodyBytes)") }
        _ = try templates()
    }

    func run() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let metrics = ServerMetrics()
        let templates = try templates()
        var served: [ServedModel] = []
        for (spec, isCheckpoint) in model.map({ ($0, false) }) + checkpoint.map({ ($0, true) }) {
            let (name, source) = Self.split(spec, isCheckpoint: isCheckpoint)
            guard !served.contains(where: { $0.name == name }) else { throw ValidationError("two models are named '\(name)'; name them: NAME=SOURCE") }
            FileHandle.standardError.write(Data("loading \(name) from \(source)\n".utf8))
            let gpt = isCheckpoint ? try ModelLoading.checkpoint(source, options: options)
                                   : try ModelLoading.pretrained(source, revision: revision)
            served.append(ServedModel(name: name, model: gpt, tokenizer: tokenizer, template: templates[name] ?? templates[""] ?? .plain,
                                      maxBatch: maxBatch, maxQueue: maxQueue, metrics: metrics))
        }
        let unknown = Set(templates.keys).subtracting(served.map(\.name)).subtracting([""])
        guard unknown.isEmpty else { throw ValidationError("--chat-template names no served model: \(unknown.sorted().joined(separator: ", "))") }
        let key = apiKey ?? ProcessInfo.processInfo.environment["EMBER_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let server = EmberServer(models: served,
                                 configuration: ServeConfiguration(host: host, port: port, apiKey: key, maxBodyBytes: maxBodyBytes),
                                 metrics: metrics)
        let names = served.map(\.name).joined(separator: ", ")
        try awaitBlocking {
            try await server.run { port in
                FileHandle.standardError.write(Data("serving \(names) on http://\(host):\(port) (chat page at /, API under /v1)\n".utf8))
            }
        }
    }

    /// `NAME=SOURCE` → (NAME, SOURCE); a bare source is named by itself (a checkpoint by its file name).
    static func split(_ spec: String, isCheckpoint: Bool) -> (name: String, source: String) {
        if let eq = spec.firstIndex(of: "="), !FileManager.default.fileExists(atPath: spec) {
            return (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
        }
        let name = isCheckpoint ? URL(fileURLWithPath: spec).deletingPathExtension().lastPathComponent : spec
        return (name, spec)
    }

    /// `--chat-template` values by model name ("" for all).
    func templates() throws -> [String: ChatTemplate] {
        var result: [String: ChatTemplate] = [:]
        for value in chatTemplate {
            let (name, raw) = value.contains("=") ? Self.split(value, isCheckpoint: false) : ("", value)
            guard let template = ChatTemplate(rawValue: raw) else {
                throw ValidationError("--chat-template must be plain or alpaca (or NAME=TEMPLATE), got '\(value)'")
            }
            result[name] = template
        }
        return result
    }
}
