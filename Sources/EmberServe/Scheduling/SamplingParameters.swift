/// The validated generation settings of one request (OpenAI's fields, checked as OpenAI documents
/// their ranges: https://platform.openai.com/docs/api-reference/chat/create).
public struct SamplingParameters: Sendable, Equatable {
    /// Most new tokens (`max_tokens` / `max_completion_tokens`); generation also stops at the context's end.
    public var maxTokens: Int
    /// 0 is greedy (argmax); OpenAI's range is 0…2, default 1.
    public var temperature: Double
    /// Nucleus filter in (0, 1]; nil for none.
    public var topP: Double?
    /// Keep the `topK` largest logits (the book's top-k); nil for all.
    public var topK: Int?
    /// Up to 4 non-empty strings; the text stops before the first one generated (not included).
    public var stop: [String]
    /// Seed for this request's own generator; nil draws a random one.
    public var seed: UInt64?

    /// The default `max_tokens` when a request gives none (capped by the room left in the context).
    public static let defaultMaxTokens = 256

    public init(maxTokens: Int, temperature: Double = 0, topP: Double? = nil, topK: Int? = nil, stop: [String] = [], seed: UInt64? = nil) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stop = stop
        self.seed = seed
    }

    /// Checks the request's fields against `contextLength`.
    /// - Throws: ``APIError`` (400, naming the field) for `n ≠ 1`, `max_tokens < 1` or larger than the
    ///   context, `temperature` outside 0…2, `top_p` outside (0, 1], `top_k < 1` (−1 and 0 mean
    ///   none, as vLLM), more than 4 or empty `stop` strings.
    public init(_ fields: SamplingFields, contextLength: Int) throws {
        if let n = fields.n, n != 1 { throw APIError.invalidRequest("n must be 1 (one choice per request), got \(n)", param: "n") }
        let requested = fields.max_completion_tokens ?? fields.max_tokens
        let param = fields.max_completion_tokens != nil ? "max_completion_tokens" : "max_tokens"
        if let requested {
            guard requested >= 1 else { throw APIError.invalidRequest("\(param) must be at least 1, got \(requested)", param: param) }
            guard requested <= contextLength else {
                throw APIError.invalidRequest("\(param) is \(requested) but the model's context length is \(contextLength)", param: param,
                                              code: "context_length_exceeded")
            }
        }
        maxTokens = requested ?? Self.defaultMaxTokens
        temperature = fields.temperature ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw APIError.invalidRequest("temperature must lie in [0, 2], got \(temperature)", param: "temperature")
        }
        if let p = fields.top_p {
            guard p.isFinite, p > 0, p <= 1 else { throw APIError.invalidRequest("top_p must lie in (0, 1], got \(p)", param: "top_p") }
            topP = p < 1 ? p : nil
        }
        if let k = fields.top_k {
            guard k >= -1 else { throw APIError.invalidRequest("top_k must be a positive integer (or -1/0 for none), got \(k)", param: "top_k") }
            topK = k > 0 ? k : nil
        }
        stop = fields.stop ?? []
        guard stop.count <= 4 else { throw APIError.invalidRequest("stop takes at most 4 sequences, got \(stop.count)", param: "stop") }
        guard !stop.contains(where: \.isEmpty) else { throw APIError.invalidRequest("stop sequences must not be empty", param: "stop") }
        seed = fields.seed.map { UInt64(bitPattern: Int64($0)) }
    }
}
