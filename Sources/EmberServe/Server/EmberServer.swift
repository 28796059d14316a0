import Foundation
import Hummingbird
import Logging
import NIOCore

/// Where and how `ember serve` listens.
public struct ServeConfiguration: Sendable {
    /// Interface to bind; `127.0.0.1` by default (loopback only).
    public var host: String
    /// Port; 0 picks a free one (tests).
    public var port: Int
    /// When set, `/v1/*` requires `Authorization: Bearer apiKey`.
    public var apiKey: String?
    /// The largest request body read, in bytes (larger: 413).
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, maxBodyBytes: Int = 4 << 20) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
    }
}

/// The OpenAI-compatible server (`ember serve`): Hummingbird 2 over SwiftNIO.
///
/// Routes: `POST /v1/chat/completions`, `POST /v1/completions` (OpenAI's schemas, streamed as
/// Server-Sent Events with `"stream": true`), `GET /v1/models`, `GET /health`, `GET /metrics`
/// (Prometheus text) and the chat page at `/`. Each model has a ``BatchScheduler`` (continuous batching).
public struct EmberServer: Sendable {
    public let models: [ServedModel]
    public let configuration: ServeConfiguration
    public let metrics: ServerMetrics
    public let logger: Logger

    /// - Parameters: `models` (distinct names, at least one; build them with the same `metrics`).
    public init(models: [ServedModel], configuration: ServeConfiguration = ServeConfiguration(),
                metrics: ServerMetrics, logger: Logger = Logger(label: "ember.serve")) {
        self.models = models
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port.
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let routes = Routes(models: models, configuration: configuration, metrics: metrics, logger: logger)
        return Application(
            router: routes.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "ember"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Serves until SIGINT or SIGTERM (graceful: the listener closes, open requests finish),
    /// then stops the schedulers.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        defer { for model in models { model.scheduler.shutdown() } }
        try await application(onRunning: onRunning).runService()
    }

    /// Serves until the calling task is cancelled (for tests and embedding), then stops the schedulers.
    public func runUntilCancelled(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        defer { for model in models { model.scheduler.shutdown() } }
        try await application(onRunning: onRunning).run()
    }
}
