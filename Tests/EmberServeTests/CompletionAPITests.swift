import EmberCore
import EmberLLM
import Foundation
import XCTest
@testable import EmberServe

/// The OpenAI-compatible endpoints over real HTTP on 127.0.0.1 (an ephemeral port), against a tiny
/// random model: responses follow OpenAI's schema and greedy text equals Ember's own `generate`.
final class CompletionAPITests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws { server = try TestServer() }
    override func tearDown() { server?.stop() }

    /// Greedy continuation of `prompt` by ``tinyModel(seed:contextLength:)`` through the book's KV-cache loop.
    static func reference(_ prompt: String, maxTokens: Int) throws -> (text: String, tokens: Int, finish: String) {
        let tokenizer = try GPT2Tokenizer.gpt2()
        let ids = try tokenizer.encode(prompt, allowedSpecial: ["<|endoftext|>"])
        let out = generate(model: tinyModel(), idx: Tensor(array: ids.map(Int64.init), shape: [1, ids.count]),
                           maxNewTokens: maxTokens, contextSize: 64, eosId: 50256, useCache: true)
        let new = Array(out.flatten().toInt64s().map(Int.init).dropFirst(ids.count))
        return (try tokenizer.decode(new), new.count, new.count < maxTokens ? "stop" : "length")
    }

    func testHealthAndModels() throws {
        let health = try server.client.get("/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(try health.json()["status"] as? String, "ok")
        let models = try server.client.get("/v1/models")
        XCTAssertEqual(models.status, 200)
        let json = try models.json()
        XCTAssertEqual(json["object"] as? String, "list")
        let data = try XCTUnwrap(json["data"] as? [[String: Any]])
        XCTAssertEqual(data.map { $0["id"] as? String }, ["tiny"])
        XCTAssertEqual(data.first?["object"] as? String, "model")
        XCTAssertEqual(data.first?["kind"] as? String, "completion")
        XCTAssertEqual(data.first?["context_length"] as? Int, 64)
    }

    func testCompletionEqualsGreedyGenerate() throws {
        let prompt = "Every effort moves you"
        let expected = try Self.reference(prompt, maxTokens: 12)
        let reply = try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": prompt, "max_tokens": 12, "temperature": 0])
        XCTAssertEqual(reply.status, 200, reply.text)
        let json = try reply.json()
        XCTAssertEqual(json["object"] as? String, "text_completion")
        XCTAssertEqual(json["model"] as? String, "tiny")
        XCTAssertTrue((json["id"] as? String)?.hasPrefix("cmpl-") ?? false)
        let choice = try XCTUnwrap((json["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, expected.text)
        XCTAssertEqual(choice["finish_reason"] as? String, expected.finish)
        XCTAssertEqual(choice["index"] as? Int, 0)
        let usage = try XCTUnwrap(json["usage"] as? [String: Int])
        XCTAssertEqual(usage["prompt_tokens"], 4)                         // "Every effort moves you": 4 GPT-2 tokens
        XCTAssertEqual(usage["completion_tokens"], expected.tokens)
        XCTAssertEqual(usage["total_tokens"], 4 + expected.tokens)
    }

    func testChatPlainTemplateAndStreamingMatchWhole() throws {
        let body: [String: Any] = ["model": "tiny", "messages": [["role": "user", "content": "Hello there"]],
                                   "max_tokens": 10, "temperature": 0]
        let whole = try server.client.post("/v1/chat/completions", json: body)
        XCTAssertEqual(whole.status, 200, whole.text)
        let json = try whole.json()
        XCTAssertEqual(json["object"] as? String, "chat.completion")
        let message = try XCTUnwrap(((json["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
        XCTAssertEqual(message["role"] as? String, "assistant")
        let expected = try Self.reference("Hello there", maxTokens: 10)       // plain template: the content as is
        XCTAssertEqual(message["content"] as? String, expected.text)

        var streamBody = body
        streamBody["stream"] = true
        streamBody["stream_options"] = ["include_usage": true]
        let streamed = try server.client.post("/v1/chat/completions", json: streamBody)
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.headers["content-type"], "text/event-stream")
        let events = sseData(streamed.text)
        XCTAssertEqual(events.last, "[DONE]", "the stream must end with data: [DONE]")
        let chunks = try events.dropLast().map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        XCTAssertEqual(Set(chunks.compactMap { $0["id"] as? String }).count, 1, "one id for every chunk")
        let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) }
        XCTAssertEqual(deltas.first?["role"] as? String, "assistant")
        XCTAssertEqual(deltas.compactMap { $0["content"] as? String }.joined(), expected.text)
        let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        XCTAssertEqual(finishes, [expected.finish], "exactly one chunk carries finish_reason")
        let usageChunk = try XCTUnwrap(chunks.last)
        XCTAssertEqual((usageChunk["choices"] as? [Any])?.count, 0, "the usage chunk has no choices")
        XCTAssertEqual((usageChunk["usage"] as? [String: Int])?["completion_tokens"], expected.tokens)
        XCTAssertEqual((usageChunk["usage"] as? [String: Int])?["prompt_tokens"], 2)
    }

    func testStreamedCompletionWithoutUsage() throws {
        let reply = try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": "The cat", "max_tokens": 6,
                                                                      "temperature": 0, "stream": true])
        let events = sseData(reply.text)
        XCTAssertEqual(events.last, "[DONE]")
        let chunks = try events.dropLast().map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "text_completion" && $0["usage"] is NSNull })
        let text = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
        XCTAssertEqual(text, try Self.reference("The cat", maxTokens: 6).text)
    }

    func testStopSequenceCutsTheText() throws {
        let full = try Self.reference("Every effort moves you", maxTokens: 12).text
        // Stop at a piece of the greedy text: the answer is what comes before it.
        let start = full.index(full.startIndex, offsetBy: full.count / 2)
        let stop = String(full[start...].prefix(3))
        try XCTSkipIf(stop.isEmpty || full.count < 4, "the greedy text is too short to cut: \(full.debugDescription)")
        let expected = String(full[..<full.range(of: stop)!.lowerBound])
        for stream in [false, true] {
            let reply = try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": "Every effort moves you", "max_tokens": 12,
                                                                          "temperature": 0, "stop": stop, "stream": stream])
            let text: String, finish: String?
            if stream {
                let chunks = try sseData(reply.text).dropLast().map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
                text = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["text"] as? String }.joined()
                finish = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }.first
            } else {
                let choice = (try reply.json()["choices"] as? [[String: Any]])?.first
                text = choice?["text"] as? String ?? "<none>"
                finish = choice?["finish_reason"] as? String
            }
            XCTAssertEqual(text, expected, "stream: \(stream), stop \(stop.debugDescription) in \(full.debugDescription)")
            XCTAssertEqual(finish, "stop", "stream: \(stream)")
        }
    }

    func testSeededSamplingRepeats() throws {
        let body: [String: Any] = ["model": "tiny", "prompt": "Once", "max_tokens": 8, "temperature": 1.0, "top_k": 50, "top_p": 0.9, "seed": 7]
        let first = try server.client.post("/v1/completions", json: body)
        let second = try server.client.post("/v1/completions", json: body)
        XCTAssertEqual(first.status, 200, first.text)
        let text = { (r: HTTPTestClient.Reply) in ((try? r.json()["choices"] as? [[String: Any]])??.first?["text"] as? String) }
        XCTAssertNotNil(text(first))
        XCTAssertEqual(text(first), text(second), "the same seed must give the same text")
    }

    func testMetricsAfterRequests() throws {
        _ = try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": "Hi", "max_tokens": 3, "temperature": 0])
        _ = try server.client.get("/nope")
        let metrics = try server.client.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") ?? false)
        let text = metrics.text
        XCTAssertTrue(text.contains("ember_requests_total{path=\"/v1/completions\",status=\"200\"} 1"), text)
        XCTAssertTrue(text.contains("ember_requests_total{path=\"other\",status=\"404\"} 1"), text)
        XCTAssertTrue(text.contains("ember_prompt_tokens_total 1\n"), text)          // "Hi": one token
        XCTAssertTrue(text.contains("# TYPE ember_queue_depth gauge\nember_queue_depth 0\n"), text)
        XCTAssertTrue(text.contains("# TYPE ember_tokens_per_second gauge"), text)
    }

    func testChatPageIsServed() throws {
        let page = try server.client.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("/v1/chat/completions"))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "the page must load nothing from elsewhere")
    }
}
