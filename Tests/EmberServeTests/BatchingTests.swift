import EmberCore
import EmberLLM
import Foundation
import XCTest
@testable import EmberServe

/// Continuous batching through the server: concurrent requests share forward passes and still get
/// exactly the tokens they get alone; a full queue answers 503; a client that leaves stops its generation.
final class BatchingTests: XCTestCase {
    static let prompts = ["Every effort moves you", "The cat", "Hello, world. This is a longer prompt than the others", "I",
                          "One two three", "Ember serves", "A", "Swift is"]

    static func completion(_ client: HTTPTestClient, _ prompt: String, stream: Bool) throws -> String {
        let body: [String: Any] = ["model": "tiny", "prompt": prompt, "max_tokens": 16, "temperature": 0, "stream": stream]
        let reply = try client.post("/v1/completions", json: body)
        guard reply.status == 200 else { throw HTTPTestClient.Failure(description: "status \(reply.status): \(reply.text)") }
        if !stream { return ((try reply.json()["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? "<none>" }
        let events = sseData(reply.text)
        guard events.last == "[DONE]" else { throw HTTPTestClient.Failure(description: "stream without [DONE]: \(reply.text)") }
        return try events.dropLast().map { event -> String in
            let chunk = try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any]
            return ((chunk?["choices"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        }.joined()
    }

    func testConcurrentStreamsEqualSequentialRequests() throws {
        let server = try TestServer(maxBatch: 4, maxQueue: 16)       // 8 clients: 4 run, 4 wait, all complete
        defer { server.stop() }
        let client = server.client
        let sequential = try Self.prompts.map { try Self.completion(client, $0, stream: false) }
        let results = ResultsBox(count: Self.prompts.count)
        let finished = concurrently(Self.prompts.count) { i in
            results.set(i, Result { try BatchingTests.completion(client, BatchingTests.prompts[i], stream: true) })
        }
        XCTAssertTrue(finished, "concurrent clients did not finish")
        for (i, expected) in sequential.enumerated() {
            XCTAssertEqual(try results.get(i).get(), expected, "client \(i) (prompt \(Self.prompts[i].debugDescription))")
        }
        let metrics = try client.get("/metrics").text
        XCTAssertTrue(metrics.contains("ember_requests_total{path=\"/v1/completions\",status=\"200\"} \(2 * Self.prompts.count)"), metrics)
    }

    func testQueueFullIsRefused() throws {
        let scheduler = BatchScheduler(model: tinyModel(), tokenizer: try GPT2Tokenizer.gpt2(), maxBatch: 1, maxQueue: 0)
        defer { scheduler.shutdown() }
        let first = GenerationJob(promptIds: [464], parameters: SamplingParameters(maxTokens: 60))
        try scheduler.submit(first)
        XCTAssertThrowsError(try scheduler.submit(GenerationJob(promptIds: [464], parameters: SamplingParameters(maxTokens: 1)))) { error in
            let e = error as? APIError
            XCTAssertEqual(e?.status, .serviceUnavailable)
            XCTAssertEqual(e?.headers[.retryAfter], "1")
            XCTAssertEqual(e?.code, "queue_full")
        }
        first.cancel()
    }

    func testOverloadedResponseCarriesRetryAfter() throws {
        let response = APIError.overloaded(retryAfterSeconds: 1).response()
        XCTAssertEqual(response.status.code, 503)
        XCTAssertEqual(response.headers[.retryAfter], "1")
    }

    func testSchedulerEventsEndWithUsage() async throws {
        let scheduler = BatchScheduler(model: tinyModel(), tokenizer: try GPT2Tokenizer.gpt2(), maxBatch: 2, maxQueue: 2)
        defer { scheduler.shutdown() }
        let job = GenerationJob(promptIds: [464, 3797], parameters: SamplingParameters(maxTokens: 5))
        try scheduler.submit(job)
        var events: [GenerationEvent] = []
        for await event in job.events { events.append(event) }
        guard case let .finished(reason, usage)? = events.last else { return XCTFail("no finished event: \(events)") }
        XCTAssertEqual(usage.prompt_tokens, 2)
        if reason == .length { XCTAssertEqual(usage.completion_tokens, 5) }
        XCTAssertEqual(events.dropLast().filter { if case .text = $0 { return false } else { return true } }, [], "only text before the end")
    }

    func testDisconnectedClientStopsItsGeneration() throws {
        // A base model with context 1024 and max_tokens 1000: the stream would run long if not stopped.
        let metrics = ServerMetrics()
        let model = ServedModel(name: "tiny", model: tinyModel(contextLength: 1024), tokenizer: try GPT2Tokenizer.gpt2(),
                                maxBatch: 2, maxQueue: 2, metrics: metrics)
        let server = try TestServer(models: [model])
        defer { server.stop() }
        let body = try JSONSerialization.data(withJSONObject: ["model": "tiny", "prompt": "Go", "max_tokens": 1000, "temperature": 0, "stream": true])
        var pieces = 0
        _ = try server.client.post("/v1/completions", raw: body) { _ in
            pieces += 1
            return pieces < 3                                   // read a few chunks, then hang up
        }
        // The scheduler notices at its next write; wait (bounded) for the row to be released.
        var running = 1
        for _ in 0..<600 where running > 0 {
            Thread.sleep(forTimeInterval: 0.05)
            running = model.scheduler.running
        }
        XCTAssertEqual(running, 0, "the generation kept running after its client left")
        let text = metrics.render(running: 0, queueDepth: 0)          // the model's scheduler reports to `metrics`
        XCTAssertFalse(text.contains("ember_completion_tokens_total 1000"), "the generation ran to max_tokens")
        XCTAssertTrue(text.contains("ember_generation_cancelled_total 1\n"), text)
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<String, any Error>]
    init(count: Int) { results = Array(repeating: .failure(HTTPTestClient.Failure(description: "no result")), count: count) }
    func set(_ i: Int, _ r: Result<String, any Error>) { lock.withLock { results[i] = r } }
    func get(_ i: Int) -> Result<String, any Error> { lock.withLock { results[i] } }
}
