import EmberCore
import EmberLLM
import EmberServe
import Foundation
import Logging

/// A tiny random GPT-2-vocabulary model (GPT-2's tokenizer needs 50,257 ids), the same for the same seed.
func tinyModel(seed: Int = 123, contextLength: Int = 64) -> GPTModel {
    manualSeed(seed)
    let model = GPTModel(GPTConfig(vocabSize: 50257, contextLength: contextLength, embDim: 32, nHeads: 2, nLayers: 2,
                                   dropRate: 0, qkvBias: false))
    model.eval()
    return model
}

/// `ember serve` in-process on 127.0.0.1 and a free port, stopped by ``stop()``.
final class TestServer: @unchecked Sendable {
    let server: EmberServer
    let port: Int
    private let task: Task<Void, Never>
    private let stopped = DispatchSemaphore(value: 0)

    var client: HTTPTestClient { HTTPTestClient(port: port) }

    /// Starts `models` (or one tiny model named "tiny") and waits (bounded) until it listens.
    init(models: [ServedModel]? = nil, apiKey: String? = nil, maxBodyBytes: Int = 1 << 20, maxBatch: Int = 8, maxQueue: Int = 16) throws {
        let metrics = ServerMetrics()
        let served = try models ?? [ServedModel(name: "tiny", model: tinyModel(), tokenizer: GPT2Tokenizer.gpt2(),
                                                maxBatch: maxBatch, maxQueue: maxQueue, metrics: metrics)]
        var logger = Logger(label: "ember.serve.test")
        logger.logLevel = ProcessInfo.processInfo.environment["EMBER_SERVE_TEST_LOG"] == nil ? .warning : .info
        server = EmberServer(models: served, configuration: ServeConfiguration(host: "127.0.0.1", port: 0, apiKey: apiKey, maxBodyBytes: maxBodyBytes),
                             metrics: metrics, logger: logger)
        let ready = DispatchSemaphore(value: 0)
        let box = PortBox()
        let (server, stopped) = (server, stopped)
        task = Task {
            do {
                try await server.runUntilCancelled { port in box.port = port; ready.signal() }
            } catch {
                box.error = "\(error)"
                ready.signal()
            }
            stopped.signal()
        }
        guard ready.wait(timeout: .now() + 60) == .success, box.port > 0 else {
            task.cancel()
            throw HTTPTestClient.Failure(description: "the test server did not start: \(box.error ?? "timeout")")
        }
        port = box.port
    }

    /// Cancels the server task and waits (bounded) for it to end.
    func stop() {
        task.cancel()
        _ = stopped.wait(timeout: .now() + 30)
    }
}

private final class PortBox: @unchecked Sendable {
    var port = 0
    var error: String?
}

/// Runs `body(i)` for `i in 0..<n` on `n` threads at once and waits (bounded) for all.
func concurrently(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) -> Bool {
    let group = DispatchGroup()
    for i in 0..<n {
        group.enter()
        Thread { body(i); group.leave() }.start()
    }
    return group.wait(timeout: .now() + 300) == .success
}
