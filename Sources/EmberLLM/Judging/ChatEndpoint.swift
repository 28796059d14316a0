import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The two chat APIs a judge can be asked through.
public enum ChatAPI: String, Sendable, CaseIterable {
    /// Ollama's `POST /api/chat` (the book's choice), answering with JSON lines.
    case ollama
    /// An OpenAI-compatible `POST /v1/chat/completions` (OpenAI, vLLM, llama.cpp's server, Ollama's `/v1`).
    case openai
}

/// A chat model to ask for scores, as the book's `query_model` (ch. 7 §7.8) asks Ollama: one user
/// message, `seed` 123, `temperature` 0 and (Ollama) `num_ctx` 2048 "for deterministic responses".
public struct ChatEndpoint: Sendable {
    /// The full endpoint URL (`…/api/chat` or `…/chat/completions`).
    public var url: URL
    /// The API spoken at ``url``.
    public var api: ChatAPI
    /// The model name (`llama3`).
    public var model: String
    /// Sent as `Authorization: Bearer …` when set.
    public var apiKey: String?
    /// Seconds to wait for each answer (the book's `timeout=30`).
    public var timeout: TimeInterval = 30
    /// The book's options.
    public var seed = 123, temperature = 0.0, numCtx = 2048

    /// An endpoint from a URL as a user gives it. With `api` nil the path decides: a path ending in
    /// `/api/chat`, or none, is Ollama (the book's default server); `/v1` or one ending in
    /// `/chat/completions` is OpenAI-compatible. A bare server URL gets the API's path appended
    /// (`http://localhost:11434` → `http://localhost:11434/api/chat`).
    /// - Throws: ``JudgeError/badURL(_:reason:)`` for a non-http(s) URL or a path naming no known API
    ///   when `api` is nil.
    public init(url text: String, model: String, api: ChatAPI? = nil, apiKey: String? = nil) throws(JudgeError) {
        guard let parsed = URL(string: text), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              parsed.host != nil else {
            throw .badURL(text, reason: "expected an http:// or https:// URL such as http://localhost:11434/api/chat")
        }
        var path = parsed.path
        while path.hasSuffix("/") { path.removeLast() }
        let resolved: ChatAPI
        var suffix = ""
        if path.isEmpty {
            resolved = api ?? .ollama
            suffix = resolved == .ollama ? "/api/chat" : "/v1/chat/completions"
        } else if path.hasSuffix("/api/chat") {
            resolved = api ?? .ollama
        } else if path.hasSuffix("/chat/completions") {
            resolved = api ?? .openai
        } else if path.hasSuffix("/v1") {
            resolved = api ?? .openai
            suffix = resolved == .openai ? "/chat/completions" : ""
        } else if let api {
            resolved = api
        } else {
            throw .badURL(text, reason: "cannot tell the API from the path '\(parsed.path)'; pass --api ollama or --api openai")
        }
        var components = URLComponents(url: parsed, resolvingAgainstBaseURL: false)!
        components.path = path + suffix
        self.url = components.url!
        self.api = resolved
        self.model = model
        self.apiKey = apiKey
    }

    /// The request body: the book's `data` dict for Ollama (`model`, `messages`, `options` with
    /// `seed`, `temperature`, `num_ctx`); for OpenAI `model`, `messages`, `temperature`, `seed`.
    public func requestBody(prompt: String) -> Data {
        var body: [String: Any] = ["model": model, "messages": [["role": "user", "content": prompt]]]
        switch api {
        case .ollama: body["options"] = ["seed": seed, "temperature": temperature, "num_ctx": numCtx]
        case .openai: body["temperature"] = temperature; body["seed"] = seed
        }
        return try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }

    /// The text of an answer: Ollama's JSON lines with `message.content` concatenated (streamed or
    /// not, as the book's `query_model` reads them), or OpenAI's `choices[0].message.content`.
    /// - Throws: ``JudgeError/httpStatus(url:status:message:)`` for an `"error"` in the answer,
    ///   ``JudgeError/malformedReply(url:reason:)`` when it has no message.
    public func replyText(_ data: Data) throws(JudgeError) -> String {
        let where_ = url.absoluteString
        switch api {
        case .ollama:
            var text = "", sawMessage = false
            for line in data.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                    throw .malformedReply(url: where_, reason: "a line is not a JSON object: \(Self.snippet(Data(line)))")
                }
                if let error = object["error"] as? String { throw .httpStatus(url: where_, status: 200, message: error) }
                if let message = object["message"] as? [String: Any] {
                    guard let content = message["content"] as? String else {
                        throw .malformedReply(url: where_, reason: "message without a string 'content'")
                    }
                    text += content
                    sawMessage = true
                }
            }
            guard sawMessage else { throw .malformedReply(url: where_, reason: "no 'message' in \(Self.snippet(data))") }
            return text
        case .openai:
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw .malformedReply(url: where_, reason: "not a JSON object: \(Self.snippet(data))")
            }
            if let error = object["error"] { throw .httpStatus(url: where_, status: 200, message: Self.errorMessage(error)) }
            guard let choices = object["choices"] as? [Any], let first = choices.first as? [String: Any],
                  let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
                throw .malformedReply(url: where_, reason: "no choices[0].message.content in \(Self.snippet(data))")
            }
            return content
        }
    }

    /// Sends `prompt` as one user message and returns the answer's text (blocking; at most ``timeout`` s).
    /// - Throws: ``JudgeError/unreachable(url:reason:)`` when no server answers,
    ///   ``JudgeError/httpStatus(url:status:message:)`` for an HTTP error, ``JudgeError/malformedReply(url:reason:)``.
    public func complete(_ prompt: String) throws(JudgeError) -> String {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = requestBody(prompt: prompt)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.timeoutInterval = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let box = ReplyBox()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        let (data, response, error) = box.get()
        if let error { throw .unreachable(url: url.absoluteString, reason: reason(error)) }
        guard let response else { throw .unreachable(url: url.absoluteString, reason: "no HTTP response") }
        guard (200..<300).contains(response.statusCode) else {
            let body = data ?? Data()
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
            let message = object?["error"].map(Self.errorMessage) ?? Self.snippet(body)
            throw .httpStatus(url: url.absoluteString, status: response.statusCode, message: message)
        }
        return try replyText(data ?? Data())
    }

    /// A connection failure in words.
    func reason(_ error: Error) -> String { Self.reason(error, timeout: timeout) }

    static func reason(_ error: Error, timeout: TimeInterval = 30) -> String {
        guard let e = error as? URLError else { return error.localizedDescription }
        switch e.code {
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        case .timedOut: return "no answer within \(Int(timeout)) s"
        case .networkConnectionLost: return "the connection was closed before the answer was complete"
        case .notConnectedToInternet: return "no network"
        default: return e.localizedDescription
        }
    }

    /// `"error": "text"` (Ollama) or `"error": {"message": "text"}` (OpenAI).
    static func errorMessage(_ error: Any) -> String {
        if let text = error as? String { return text }
        if let object = error as? [String: Any], let message = object["message"] as? String { return message }
        return "\(error)"
    }

    /// The first 200 characters of a body, for messages.
    static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        return text.isEmpty ? "an empty body" : "'\(text)\(data.count > 200 ? "…" : "")'"
    }
}

/// The completion handler's results, handed to the waiting thread (the semaphore orders the accesses).
private final class ReplyBox: @unchecked Sendable {
    private var value: (Data?, HTTPURLResponse?, Error?) = (nil, nil, nil)
    private let lock = NSLock()
    func set(_ data: Data?, _ response: HTTPURLResponse?, _ error: Error?) { lock.withLock { value = (data, response, error) } }
    func get() -> (Data?, HTTPURLResponse?, Error?) { lock.withLock { value } }
}
