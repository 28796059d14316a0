import Foundation

/// Why judging stopped; the message is one sentence that says what to do. Judging only reads the
/// responses file, so nothing on disk is lost whatever happens.
public enum JudgeError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The URL is not an http(s) URL, or its path names no known API and none was given.
    case badURL(String, reason: String)
    /// No server answered (connection refused, unknown host, timeout).
    case unreachable(url: String, reason: String)
    /// The server answered with an HTTP error status (its own message when it sent one).
    case httpStatus(url: String, status: Int, message: String)
    /// The answer was not the API's JSON (no `message.content` / `choices[0].message.content`).
    case malformedReply(url: String, reason: String)
    /// Not one answer could be read as an integer, so there is no average.
    case noScores(total: Int)

    public var description: String {
        switch self {
        case .badURL(let url, let reason):
            return "--url \(url): \(reason)"
        case .unreachable(let url, let reason):
            return "No chat server answered at \(url) (\(reason)); start Ollama (`ollama serve`, then `ollama pull llama3`) or pass --url of a running OpenAI-compatible server — the responses file is unchanged."
        case .httpStatus(let url, let status, let message):
            return "The chat server at \(url) answered HTTP \(status)\(message.isEmpty ? "" : ": \(message)")."
        case .malformedReply(let url, let reason):
            return "The chat server at \(url) sent an answer that is not the expected chat JSON (\(reason))."
        case .noScores(let total):
            return "None of the \(total) answers could be read as an integer score, so there is no average."
        }
    }

    public var errorDescription: String? { description }
}
