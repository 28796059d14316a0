import Foundation

// OpenAI's (legacy) text completions and models schemas
// (https://platform.openai.com/docs/api-reference/completions, …/models), field names verbatim.

/// `POST /v1/completions` request body. `prompt` is a string or an array holding one string.
public struct CompletionRequest: Decodable, Sendable {
    public var model: String
    public var prompt: String
    public var sampling: SamplingFields
    public var stream: Bool?
    public var stream_options: StreamOptions?

    enum CodingKeys: String, CodingKey { case model, prompt, stream, stream_options }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        if let text = try? c.decode(String.self, forKey: .prompt) {
            prompt = text
        } else {
            let many = try c.decode([String].self, forKey: .prompt)
            guard many.count == 1 else {
                throw APIError.invalidRequest("only one prompt per request is supported, got \(many.count)", param: "prompt")
            }
            prompt = many[0]
        }
        stream = try c.decodeIfPresent(Bool.self, forKey: .stream)
        stream_options = try c.decodeIfPresent(StreamOptions.self, forKey: .stream_options)
        sampling = try SamplingFields(from: decoder)
    }
}

/// `text_completion`: a whole answer, or (streamed) one chunk of it. `finish_reason` is `null`
/// in chunks before the last; `usage` is `null` except in the whole answer and the usage chunk.
public struct TextCompletion: Codable, Sendable {
    public struct Choice: Codable, Sendable {
        public var text: String
        public var index: Int
        public var finish_reason: String?

        enum CodingKeys: String, CodingKey { case text, index, logprobs, finish_reason }
        public init(text: String, index: Int, finish_reason: String?) {
            self.text = text
            self.index = index
            self.finish_reason = finish_reason
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            text = try c.decode(String.self, forKey: .text)
            index = try c.decode(Int.self, forKey: .index)
            finish_reason = try c.decodeIfPresent(String.self, forKey: .finish_reason)
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finish_reason, forKey: .finish_reason)
        }
    }
    public var id: String
    public var object = "text_completion"
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
        try c.encode(usage, forKey: .usage)
    }
}

/// `GET /v1/models`: `{"object": "list", "data": [...]}`. Ember adds `kind` (`"completion"`, or
/// `"classification"` for a spam classifier) and `context_length`, which the chat page reads.
public struct ModelList: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var owned_by = "ember"
        public var kind: String
        public var context_length: Int
        public var chat_template: String
    }
    public var object = "list"
    public var data: [Entry]
}
