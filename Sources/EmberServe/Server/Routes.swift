import Foundation
import Hummingbird
import Logging
import NIOCore

/// The server's routes: the OpenAI-compatible API under `/v1`, `/health`, `/metrics` and the chat page at `/`.
struct Routes: Sendable {
    let models: [ServedModel]
    let configuration: ServeConfiguration
    let metrics: ServerMetrics
    let logger: Logger

    func router() -> Router<ServeContext> {
        let router = Router(context: ServeContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger, metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        router.get("/") { _, _ in try Self.chatPage() }
        router.get("/health") { _, _ in try CompletionResponder.json(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            let text = metrics.render(running: models.map(\.scheduler.running).reduce(0, +),
                                      queueDepth: models.map(\.scheduler.queueDepth).reduce(0, +))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let v1 = router.group("v1")
        if let key = configuration.apiKey { v1.add(middleware: APIKeyMiddleware(key: Array(key.utf8))) }
        v1.get("models") { _, _ in try CompletionResponder.json(ModelList(data: models.map(\.listEntry))) }
        v1.post("chat/completions") { request, context in
            let body: ChatCompletionRequest = try await decode(request)
            let model = try served(body.model)
            let parameters = try SamplingParameters(body.sampling, contextLength: model.contextLength)
            let prompt = try model.template.prompt(for: body.messages)
            let ids = try model.promptIds(prompt, param: "messages")
            return try await CompletionResponder(model: model, format: ChatFormat(), logger: logger)
                .respond(promptIds: ids, parameters: parameters, stream: body.stream ?? false,
                         includeUsage: body.stream_options?.include_usage ?? false, request: request, context: context)
        }
        v1.post("completions") { request, context in
            let body: CompletionRequest = try await decode(request)
            let model = try served(body.model)
            let parameters = try SamplingParameters(body.sampling, contextLength: model.contextLength)
            let ids = try model.promptIds(body.prompt, param: "prompt")
            return try await CompletionResponder(model: model, format: TextFormat(), logger: logger)
                .respond(promptIds: ids, parameters: parameters, stream: body.stream ?? false,
                         includeUsage: body.stream_options?.include_usage ?? false, request: request, context: context)
        }
        return router
    }

    /// The served model named `name`.
    /// - Throws: ``APIError/modelNotFound(_:served:)``.
    func served(_ name: String) throws -> ServedModel {
        guard let model = models.first(where: { $0.name == name }) else { throw APIError.modelNotFound(name, served: models.map(\.name)) }
        guard model.kind == .completion else {
            throw APIError.invalidRequest("The model '\(name)' is a \(model.kind.rawValue) model; it does not generate text", param: "model",
                                          code: "model_not_supported")
        }
        return model
    }

    /// The JSON body as `T`, read up to ``ServeConfiguration/maxBodyBytes``.
    /// - Throws: 413 for a larger body, 400 for invalid JSON or fields (``APIError/from(_:)``).
    func decode<T: Decodable>(_ request: Request) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw APIError.invalidRequest("The request body is empty; send a JSON object", code: "invalid_json") }
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    }

    /// `Resources/chat.html` from the EmberServe bundle.
    static func chatPage() throws -> Response {
        guard let url = Bundle.module.url(forResource: "chat", withExtension: "html", subdirectory: "Resources"),
              let data = try? Data(contentsOf: url) else {
            throw APIError(status: .internalServerError, message: "the chat page resource is missing", type: "server_error")
        }
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
