import Foundation
import Hummingbird
import Logging
import NIOCore

/// Runs one generation request through its model's scheduler and answers it whole (JSON) or
/// streamed (Server-Sent Events, OpenAI's chunk format, ending with `data: [DONE]`).
struct CompletionResponder: Sendable {
    let model: ServedModel
    let format: any CompletionFormat
    let logger: Logger

    func respond(promptIds: [Int], parameters: SamplingParameters, stream: Bool, includeUsage: Bool,
                 request: Request, context: ServeContext) async throws -> Response {
        let job = GenerationJob(promptIds: promptIds, parameters: parameters)
        try model.scheduler.submit(job)
        let id = format.idPrefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
        let created = Int(Date().timeIntervalSince1970)
        context.log.set("model", model.name)
        context.log.set("prompt_tokens", promptIds.count)
        return stream
            ? streamed(job, id: id, created: created, includeUsage: includeUsage, request: request, context: context)
            : try await whole(job, id: id, created: created, context: context)
    }

    private func whole(_ job: GenerationJob, id: String, created: Int, context: ServeContext) async throws -> Response {
        var text = ""
        for await event in job.events {
            switch event {
            case .text(let piece): text += piece
            case let .finished(reason, usage):
                context.log.set("completion_tokens", usage.completion_tokens)
                context.log.set("finish_reason", reason.rawValue)
                return try Self.json(format.whole(id: id, created: created, model: model.name, text: text, finish: reason, usage: usage))
            case .failed(let message):
                throw APIError(status: .internalServerError, message: "Generation failed: \(message)", type: "server_error")
            }
        }
        job.cancel()
        throw APIError(status: .internalServerError, message: "Generation ended without a result", type: "server_error")
    }

    private func streamed(_ job: GenerationJob, id: String, created: Int, includeUsage: Bool,
                          request: Request, context: ServeContext) -> Response {
        context.log.deferToBody()
        let (format, name, logger, entry) = (format, model.name, logger, context.log)
        let body = ResponseBody { writer in
            var completed = false
            defer {
                if !completed { job.cancel(); entry.set("disconnected", true) }
                RequestLogMiddleware.write(logger, request: request, status: 200, entry: entry)
            }
            if let opening = format.opening(id: id, created: created, model: name) { try await writer.write(Self.event(opening)) }
            for await event in job.events {
                switch event {
                case .text(let text):
                    try await writer.write(Self.event(format.piece(id: id, created: created, model: name, text: text)))
                case let .finished(reason, usage):
                    entry.set("completion_tokens", usage.completion_tokens)
                    entry.set("finish_reason", reason.rawValue)
                    var tail = Self.event(format.closing(id: id, created: created, model: name, finish: reason))
                    if includeUsage { tail.writeImmutableBuffer(Self.event(format.usage(id: id, created: created, model: name, usage: usage))) }
                    tail.writeString("data: [DONE]\n\n")
                    completed = true
                    try await writer.write(tail)
                case .failed(let message):
                    // Headers are sent: the error goes in the stream, as OpenAI does mid-stream.
                    let error = APIError(status: .internalServerError, message: "Generation failed: \(message)", type: "server_error")
                    var tail = Self.event(error.body)
                    tail.writeString("data: [DONE]\n\n")
                    entry.set("error", "\"\(message.prefix(200))\"")
                    completed = true
                    try await writer.write(tail)
                }
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `data: JSON\n\n`.
    static func event(_ value: any Encodable) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes((try? JSONEncoder().encode(value)) ?? Data("{}".utf8))
        buffer.writeString("\n\n")
        return buffer
    }

    static func json(_ value: any Encodable) throws -> Response {
        let data = try JSONEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
