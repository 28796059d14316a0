import EmberLLM
import EmberTestSupport
import Foundation
import XCTest

/// `ember judge` / ``generateModelScores(_:endpoint:log:progress:)`` (ch. 7 §7.8) against a fake chat
/// server on 127.0.0.1 (``TestHTTPServer``: ephemeral port, stops by itself): the book's prompt and
/// options in the request, both APIs, the book's two lines, unparsable answers skipped and counted,
/// and one clear error for a dead server, an HTTP error and an answer that is not chat JSON.
final class JudgeTests: XCTestCase {
    static let entries = [
        JudgeEntry(entry: InstructionEntry(instruction: "Rewrite the sentence using a simile.", input: "The car is very fast.",
                                           output: "The car is as fast as lightning."), response: "The car is as fast as a bullet."),
        JudgeEntry(entry: InstructionEntry(instruction: "What type of cloud is typically associated with thunderstorms?",
                                           output: "The type of cloud typically associated with thunderstorms is cumulonimbus."),
                   response: "The type of cloud associated with thunderstorms is a cumulus cloud."),
        JudgeEntry(entry: InstructionEntry(instruction: "Name the author of 'Pride and Prejudice'.",
                                           output: "Jane Austen wrote 'Pride and Prejudice'."), response: "The author is Jane Austen."),
        JudgeEntry(entry: InstructionEntry(instruction: "Say hi.", output: "Hi."), response: ""),
    ]

    /// The judge's answer for each entry, keyed by a word of its response; "Score: 20" is not an integer.
    static func answer(for prompt: String) -> String {
        if prompt.contains("bullet") { return "85" }
        if prompt.contains("cumulus") { return " 40\n" }
        if prompt.contains("Jane Austen.`") { return "Score: 20" }
        return "100"
    }

    /// A fake Ollama (`/api/chat`, JSON lines split mid-number as a streamed answer is) or OpenAI server.
    static func server(_ api: ChatAPI) throws -> TestHTTPServer {
        try TestHTTPServer(lifetime: 60) { request in
            let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: Any] ?? [:]
            let messages = body["messages"] as? [[String: Any]] ?? []
            let text = answer(for: messages.first?["content"] as? String ?? "")
            switch api {
            case .ollama:
                guard request.path == "/api/chat" else { return .init(status: 404, body: Data(#"{"error":"not found"}"#.utf8)) }
                let parts = [String(text.prefix(1)), String(text.dropFirst())]
                var lines = parts.map { #"{"model":"llama3","message":{"role":"assistant","content":"# + json($0) + #"},"done":false}"# }
                lines.append(#"{"model":"llama3","message":{"role":"assistant","content":""},"done":true}"#)
                return .init(status: 200, headers: [("Content-Type", "application/x-ndjson")], body: Data((lines.joined(separator: "\n") + "\n").utf8))
            case .openai:
                guard request.path == "/v1/chat/completions" else { return .init(status: 404) }
                guard request.headers["authorization"] == "Bearer sk-test" else {
                    return .init(status: 401, body: Data(#"{"error":{"message":"Incorrect API key provided"}}"#.utf8))
                }
                return .init(status: 200, headers: [("Content-Type", "application/json")],
                             body: Data((#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"# + json(text) + #"},"finish_reason":"stop"}]}"#).utf8))
            }
        }
    }

    static func json(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: s, options: .fragmentsAllowed), as: UTF8.self)
    }

    /// The book's prompt, character for character (`generate_model_scores` in ch07.ipynb).
    func testPromptIsTheBooks() {
        XCTAssertEqual(judgePrompt(Self.entries[0]), """
            Given the input `Below is an instruction that describes a task. Write a response that appropriately completes the request.

            ### Instruction:
            Rewrite the sentence using a simile.

            ### Input:
            The car is very fast.` and correct output `The car is as fast as lightning.`, score the model response `The car is as fast as a bullet.` on a scale from 0 to 100, where 100 is the best score. Respond with the integer number only.
            """)
        XCTAssertEqual(parseJudgeScore("85"), 85)
        XCTAssertEqual(parseJudgeScore(" 40\n"), 40)
        XCTAssertEqual(parseJudgeScore("+7"), 7)
        XCTAssertEqual(parseJudgeScore("1_000"), 1000)
        for bad in ["Score: 20", "85.", "", "8 5", "1__0", "_1", "85/100"] { XCTAssertNil(parseJudgeScore(bad), bad) }
    }

    func testOllamaServerGivesTheBookLinesAndSkipsUnparsableAnswers() throws {
        let server = try Self.server(.ollama)
        defer { server.stop() }
        let endpoint = try ChatEndpoint(url: server.endpoint, model: "llama3")   // a bare URL: Ollama's /api/chat
        XCTAssertEqual(endpoint.url.absoluteString, server.endpoint + "/api/chat")
        var logged: [String] = [], progress: [Int] = []
        let report = try generateModelScores(Self.entries, endpoint: endpoint, log: { logged.append($0) }, progress: { done, _ in progress.append(done) })
        XCTAssertEqual(report.scores, [85, 40, 100])
        XCTAssertEqual(report.unparsable, [.init(index: 2, answer: "Score: 20")])
        XCTAssertEqual(logged, ["Could not convert score: Score: 20"])
        XCTAssertEqual(progress, [1, 2, 3, 4])
        XCTAssertEqual(report.countLine, "Number of scores: 3 of 4")
        XCTAssertEqual(try report.averageLine(), "Average score: 75.00")
        let request = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(request.method, "POST")
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        XCTAssertEqual(body["model"] as? String, "llama3")
        XCTAssertEqual((body["messages"] as? [[String: String]])?.first, ["role": "user", "content": judgePrompt(Self.entries[0])])
        let options = try XCTUnwrap(body["options"] as? [String: Any])
        XCTAssertEqual(options["seed"] as? Int, 123)
        XCTAssertEqual((options["temperature"] as? NSNumber)?.doubleValue, 0)
        XCTAssertEqual(options["num_ctx"] as? Int, 2048)
    }

    func testOpenAICompatibleServerWithKey() throws {
        let server = try Self.server(.openai)
        defer { server.stop() }
        let endpoint = try ChatEndpoint(url: server.endpoint + "/v1", model: "gpt-4o", apiKey: "sk-test")
        XCTAssertEqual(endpoint.api, .openai)
        let report = try generateModelScores(Self.entries, endpoint: endpoint, log: { _ in })
        XCTAssertEqual(report.scores, [85, 40, 100])
        XCTAssertEqual(try report.averageLine(), "Average score: 75.00")
        let body = try XCTUnwrap(JSONSerialization.jsonObject(with: server.requests[0].body) as? [String: Any])
        XCTAssertEqual(body["seed"] as? Int, 123)
        XCTAssertEqual((body["temperature"] as? NSNumber)?.doubleValue, 0)
        XCTAssertNil(body["options"])
        // A wrong key: the server's own message in one sentence.
        let wrongKey = try ChatEndpoint(url: server.endpoint + "/v1/chat/completions", model: "gpt-4o", apiKey: "nope")
        XCTAssertThrowsError(try wrongKey.complete("x")) { error in
            XCTAssertEqual(error as? JudgeError, .httpStatus(url: server.endpoint + "/v1/chat/completions", status: 401, message: "Incorrect API key provided"))
        }
    }

    func testDeadServerMalformedAnswerAndBadURLAreClearErrors() throws {
        let dead = try TestHTTPServer(lifetime: 5) { _ in .init(status: 200) }
        let deadURL = dead.endpoint + "/api/chat"
        dead.stop()   // the port now refuses connections
        var endpoint = try ChatEndpoint(url: deadURL, model: "llama3")
        endpoint.timeout = 5
        XCTAssertThrowsError(try generateModelScores(Self.entries, endpoint: endpoint, log: { _ in })) { error in
            guard case .unreachable(let url, _)? = error as? JudgeError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, deadURL)
            XCTAssertTrue("\(error)".hasPrefix("No chat server answered at \(deadURL) ("), "\(error)")
            XCTAssertTrue("\(error)".contains("ollama serve"), "\(error)")
        }
        let garbage = try TestHTTPServer(lifetime: 60) { _ in .init(status: 200, body: Data("<html>hello</html>".utf8)) }
        defer { garbage.stop() }
        XCTAssertThrowsError(try ChatEndpoint(url: garbage.endpoint, model: "llama3").complete("x")) { error in
            guard case .malformedReply? = error as? JudgeError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("<html>hello</html>"), "\(error)")
        }
        XCTAssertThrowsError(try ChatEndpoint(url: garbage.endpoint + "/v1", model: "m").complete("x")) { error in
            guard case .malformedReply? = error as? JudgeError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ChatEndpoint(url: "localhost:11434", model: "m")) { error in
            guard case .badURL? = error as? JudgeError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ChatEndpoint(url: "http://localhost:11434/generate", model: "m")) { error in
            XCTAssertTrue("\(error)".contains("--api"), "\(error)")
        }
        XCTAssertEqual(try ChatEndpoint(url: "http://localhost:11434/generate", model: "m", api: .ollama).url.path, "/generate")
        XCTAssertThrowsError(try JudgeReport(scores: [], total: 3, unparsable: []).averageLine()) { error in
            XCTAssertEqual(error as? JudgeError, .noScores(total: 3))
        }
    }

    /// The built `ember judge`: the book's two lines from a file, and the dead-server sentence.
    func testEmberJudgeCommand() throws {
        guard TrainCommandTests.emberBinary != nil else { throw XCTSkip("the ember binary is not built next to the tests") }
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("instruction-data-with-response.json")
        let json = Self.entries.map { ["instruction": $0.entry.instruction, "input": $0.entry.input, "output": $0.entry.output, "model_response": $0.response] }
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        let server = try Self.server(.ollama)
        defer { server.stop() }
        let run = try TrainCommandTests.runEmber(["judge", "--input", file.path, "--url", server.endpoint + "/api/chat"])
        XCTAssertEqual(run.status, 0, run.err)
        XCTAssertEqual(run.out, "Could not convert score: Score: 20\nNumber of scores: 3 of 4\nAverage score: 75.00\n")
        server.stop()
        let dead = try TrainCommandTests.runEmber(["judge", "--input", file.path, "--url", server.endpoint, "--timeout", "5"])
        XCTAssertEqual(dead.status, 1)
        XCTAssertTrue(dead.err.contains("No chat server answered at \(server.endpoint)/api/chat"), dead.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file.path))
        let missing = try TrainCommandTests.runEmber(["judge", "--input", dir.appendingPathComponent("nope.json").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("nope.json"), missing.err)
    }
}
