import ArgumentParser
import Ember
import Foundation

/// `ember judge`: the book's chapter 7.8 evaluation — every answer of
/// `instruction-data-with-response.json` scored 0–100 by a stronger chat model (the book: Ollama's
/// llama3 with seed 123, temperature 0, num_ctx 2048), then the book's two lines,
/// `Number of scores: N of 110` and `Average score: X.XX`. Only reads the file.
struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Score model answers with a chat model (Ollama or OpenAI-compatible), as the book's chapter 7.8 does.",
        discussion: """
        Sends the book's prompt ("Given the input … score the model response … on a scale from 0 to 100 … Respond \
        with the integer number only.") for every entry and averages the integer answers; answers that are not \
        integers are printed and skipped, as the book does. Start the judge first, e.g. `ollama serve` and \
        `ollama pull llama3`.
        """)

    @Option(help: "JSON array of entries with instruction, input, output and the response (the book's instruction-data-with-response.json).")
    var input: String
    @Option(help: "The chat endpoint: Ollama's /api/chat (the book's), an OpenAI-compatible /v1/chat/completions, or a bare server URL.")
    var url = "http://localhost:11434/api/chat"
    @Option(help: "The judge model.")
    var model = "llama3"
    @Option(help: "ollama or openai (default: from the URL's path; a bare server URL is Ollama).")
    var api: String?
    @Option(help: "Sent as 'Authorization: Bearer KEY' (OpenAI-compatible servers).")
    var apiKey: String?
    @Option(help: "The entries' field holding the answer to score (the book's json_key).")
    var responseKey = "model_response"
    @Option(help: "Seconds to wait for each answer (the book's 30).")
    var timeout: Double = 30

    func validate() throws {
        if let api, ChatAPI(rawValue: api) == nil { throw ValidationError("--api must be ollama or openai, got '\(api)'") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive, got \(timeout)") }
    }

    func run() throws {
        let entries = try JudgeEntry.load(from: URL(fileURLWithPath: input), responseKey: responseKey)
        var endpoint = try ChatEndpoint(url: url, model: model, api: api.flatMap(ChatAPI.init(rawValue:)), apiKey: apiKey)
        endpoint.timeout = timeout
        let live = isatty(STDERR_FILENO) != 0
        let report: JudgeReport
        do {
            report = try generateModelScores(entries, endpoint: endpoint, log: { line in
                if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                print(line)
            }, progress: { done, total in
                if live { FileHandle.standardError.write(Data("\r\u{1B}[KScoring entries: \(done)/\(total)".utf8)) }
            })
        } catch {
            if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            throw error
        }
        if live { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(report.countLine)
        print(try report.averageLine())
    }
}
