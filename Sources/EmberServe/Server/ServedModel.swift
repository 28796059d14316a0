import EmberLLM
import Foundation

/// A model the server answers for: its public name, what it does, and its scheduler.
public final class ServedModel: Sendable {
    /// What a model does, shown by `GET /v1/models` (`kind`) and the chat page.
    public enum Kind: String, Sendable {
        /// Generates text (chat and text completions).
        case completion
        /// Labels text (the book's chapter-6 spam classifier: "spam" / "not spam"); served by a later backend.
        case classification
    }

    /// The `model` field clients send.
    public let name: String
    public let kind: Kind
    public let template: ChatTemplate
    public let scheduler: BatchScheduler
    public let created: Int

    /// - Parameters: `name` clients use; `model` (the scheduler takes it over); `template` for chat
    ///   requests; `maxBatch`/`maxQueue` for the ``BatchScheduler``.
    public init(name: String, model: GPTModel, tokenizer: GPT2Tokenizer, template: ChatTemplate = .plain,
                maxBatch: Int = 8, maxQueue: Int = 64, metrics: ServerMetrics? = nil) {
        self.name = name
        kind = .completion
        self.template = template
        scheduler = BatchScheduler(model: model, tokenizer: tokenizer, maxBatch: maxBatch, maxQueue: maxQueue, metrics: metrics)
        created = Int(Date().timeIntervalSince1970)
    }

    public var contextLength: Int { scheduler.model.config.contextLength }
    public var tokenizer: GPT2Tokenizer { scheduler.tokenizer }

    var listEntry: ModelList.Entry {
        ModelList.Entry(id: name, created: created, kind: kind.rawValue, context_length: contextLength, chat_template: template.rawValue)
    }

    /// Tokenizes `prompt` and checks it fits: at least one token, and room for one new token.
    /// - Throws: ``APIError`` 400 (`context_length_exceeded` for a prompt of `contextLength` tokens or more).
    func promptIds(_ prompt: String, param: String) throws -> [Int] {
        let ids: [Int]
        do { ids = try tokenizer.encode(prompt, allowedSpecial: ["<|endoftext|>"]) } catch {
            throw APIError.invalidRequest("the \(param) could not be tokenized: \(error)", param: param)
        }
        guard !ids.isEmpty else { throw APIError.invalidRequest("the \(param) is empty", param: param) }
        guard ids.count < contextLength else {
            throw APIError.invalidRequest("This model's maximum context length is \(contextLength) tokens; the \(param) has \(ids.count) (at most \(contextLength - 1), leaving room for one new token)",
                                          param: param, code: "context_length_exceeded")
        }
        return ids
    }
}
