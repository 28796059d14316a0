import Foundation

// OpenAI's chat completions schema (https://platform.openai.com/docs/api-reference/chat), field names
// verbatim. Only what Ember serves is decoded; unknown fields are ignored, as OpenAI-compatible
// servers (llama.cpp, vLLM) do.

/// `POST /v1/chat/completions` request body.
public struct ChatCompletionRequest: Decodable, Sendable {
    public var model: String
    public var messages: [ChatMessage]
    public var sampling: SamplingFields
    public var stream: Bool?
    public var stream_options: StreamOptions?

    enum CodingKeys: String, CodingKey { case model, messages, stream, stream_options }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        messages = try c.decode([ChatMessage].self, forKey: .messages)
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        stream_options = try c.decodeIfPresent(StreamOptions.self, forKey: .stream_options)
        sampling = try SamplingFields(from: decoder)
    }
}

/// One chat message. `content` is a string or an array of parts (`{"type": "text", "text": …}`);
/// the text parts are joined.
public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    struct Part: Decodable { var type: String; var text: String? }
    enum CodingKeys: String, CodingKey { case role, content }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        role = try c.decode(String.self, forKey: .role)
        if let text = try? c.decode(String.self, forKey: .content) {
            content = text
        } else if c.contains(.content), try c.decodeNil(forKey: .content) {
            content = ""
        } else {
            content = try c.decode([Part].self, forKey: .content).compactMap(\.text).joined()
        }
    }
}

/// `stream_options` (OpenAI): `include_usage` adds a last chunk with `usage` and no choices.
public struct StreamOptions: Codable, Sendable {
    public var include_usage: Bool?
}

/// The sampling fields shared by chat and text completions, as sent (validated by ``SamplingParameters``).
public struct SamplingFields: Decodable, Sendable {
    public var max_tokens: Int?
    public var max_completion_tokens: Int?
    public var temperature: Double?
    public var top_p: Double?
    public var top_k: Int?
    public var stop: [String]?
    public var seed: Int?
    public var n: Int?

    enum CodingKeys: String, CodingKey { case max_tokens, max_completion_tokens, temperature, top_p, top_k, stop, seed, n }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        max_tokens = try c.decodeIfPresent(Int.self, forKey: .max_tokens)
        max_completion_tokens = try c.decodeIfPresent(Int.self, forKey: .max_completion_tokens)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        top_p = try c.decodeIfPresent(Double.self, forKey: .top_p)
        top_k = try c.decodeIfPresent(Int.self, forKey: .top_k)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        n = try c.decodeIfPresent(Int.self, forKey: .n)
        // `stop`: null, a string, or an array of strings.
        if let one = try? c.decodeIfPresent(String.self, forKey: .stop) {
            stop = [one]
        } else {
            stop = try c.decodeIfPresent([String].self, forKey: .stop)
        }
    }
}

/// Token counts of one request (OpenAI's `usage`).
public struct Usage: Codable, Sendable, Equatable {
    public var prompt_tokens: Int
    public var completion_tokens: Int
    public var total_tokens: Int

    public init(promptTokens: Int, completionTokens: Int) {
        prompt_tokens = promptTokens
        completion_tokens = completionTokens
        total_tokens = promptTokens + completionTokens
    }
}

/// `chat.completion`: the whole answer of a non-streamed chat request.
public struct ChatCompletion: Codable, Sendable {
    public struct Choice: Codable, Sendable {
        public var index: Int
        public var message: ChatMessage
        public var finish_reason: String
    }
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage
}

/// `chat.completion.chunk`: one Server-Sent Event of a streamed chat request. `finish_reason` is
/// `null` until the last content chunk; the usage chunk (`stream_options.include_usage`) has no
/// choices, and `usage` is `null` in the others, as OpenAI sends them.
public struct ChatCompletionChunk: Codable, Sendable {
    public struct Delta: Codable, Sendable {
        public var role: String?
        public var content: String?
    }
    public struct Choice: Codable, Sendable {
        public var index: Int
        public var delta: Delta
        public var finish_reason: String?

        enum CodingKeys: String, CodingKey { case index, delta, finish_reason }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(finish_reason, forKey: .finish_reason)             // explicit null
        }
    }
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(object, forKey: .object)
        try c.encode(created, forKey: .created)
        try c.encode(model, forKey: .model)
        try c.encode(choices, forKey: .choices)
        try c.encode(usage, forKey: .usage)                                  // explicit null
    }
}
