import Foundation

/// The response shapes of one endpoint: chat (`chat.completion` / `chat.completion.chunk`) or text
/// (`text_completion`). The generation itself is the same for both.
protocol CompletionFormat: Sendable {
    /// The non-streamed answer.
    func whole(id: String, created: Int, model: String, text: String, finish: FinishReason, usage: Usage) -> any Encodable
    /// The first chunk of a stream (the chat's `role: assistant` delta), or nil.
    func opening(id: String, created: Int, model: String) -> (any Encodable)?
    /// A chunk carrying `text`.
    func piece(id: String, created: Int, model: String, text: String) -> any Encodable
    /// The chunk carrying `finish_reason`.
    func closing(id: String, created: Int, model: String, finish: FinishReason) -> any Encodable
    /// The usage chunk (`stream_options.include_usage`): no choices.
    func usage(id: String, created: Int, model: String, usage: Usage) -> any Encodable
    /// The id prefix (`chatcmpl-`, `cmpl-`).
    var idPrefix: String { get }
}

struct ChatFormat: CompletionFormat {
    var idPrefix: String { "chatcmpl-" }

    func whole(id: String, created: Int, model: String, text: String, finish: FinishReason, usage: Usage) -> any Encodable {
        ChatCompletion(id: id, created: created, model: model,
                       choices: [.init(index: 0, message: ChatMessage(role: "assistant", content: text), finish_reason: finish.rawValue)],
                       usage: usage)
    }
    func opening(id: String, created: Int, model: String) -> (any Encodable)? {
        ChatCompletionChunk(id: id, created: created, model: model,
                            choices: [.init(index: 0, delta: .init(role: "assistant", content: ""), finish_reason: nil)])
    }
    func piece(id: String, created: Int, model: String, text: String) -> any Encodable {
        ChatCompletionChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: .init(content: text), finish_reason: nil)])
    }
    func closing(id: String, created: Int, model: String, finish: FinishReason) -> any Encodable {
        ChatCompletionChunk(id: id, created: created, model: model, choices: [.init(index: 0, delta: .init(), finish_reason: finish.rawValue)])
    }
    func usage(id: String, created: Int, model: String, usage: Usage) -> any Encodable {
        ChatCompletionChunk(id: id, created: created, model: model, choices: [], usage: usage)
    }
}

struct TextFormat: CompletionFormat {
    var idPrefix: String { "cmpl-" }

    func whole(id: String, created: Int, model: String, text: String, finish: FinishReason, usage: Usage) -> any Encodable {
        TextCompletion(id: id, created: created, model: model, choices: [.init(text: text, index: 0, finish_reason: finish.rawValue)], usage: usage)
    }
    func opening(id: String, created: Int, model: String) -> (any Encodable)? { nil }
    func piece(id: String, created: Int, model: String, text: String) -> any Encodable {
        TextCompletion(id: id, created: created, model: model, choices: [.init(text: text, index: 0, finish_reason: nil)])
    }
    func closing(id: String, created: Int, model: String, finish: FinishReason) -> any Encodable {
        TextCompletion(id: id, created: created, model: model, choices: [.init(text: "", index: 0, finish_reason: finish.rawValue)])
    }
    func usage(id: String, created: Int, model: String, usage: Usage) -> any Encodable {
        TextCompletion(id: id, created: created, model: model, choices: [], usage: usage)
    }
}
