import Foundation
import Hummingbird
import Logging

/// Turns anything a route throws into OpenAI's error object (``APIError/from(_:)``): unknown
/// paths, oversized bodies, bad JSON and internal failures all answer JSON, never a bare page.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServeContext

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            context.log.set("error", "\"\(apiError.message.prefix(200))\"")
            return apiError.response()
        }
    }
}

/// One line per request (swift-log, level info): method, path, status, duration and the fields
/// the handler added (model, token counts, finish reason); and the request counter of `/metrics`.
/// Streamed responses log when their stream ends (``SSEWriter``).
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        let path = request.uri.path
        metrics.recordRequest(path: Self.metricPath(path), status: Int(response.status.code))
        if !context.log.deferred {
            Self.write(logger, request: request, status: Int(response.status.code), entry: context.log)
        }
        return response
    }

    /// Known paths as they are; anything else as "other" (bounded label values).
    static func metricPath(_ path: String) -> String {
        ["/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions"].contains(path) ? path : "other"
    }

    static func write(_ logger: Logger, request: Request, status: Int, entry: RequestLogEntry) {
        let ms = Double(DispatchTime.now().uptimeNanoseconds - entry.start) / 1e6
        let extra = entry.text
        logger.info("\(request.method) \(request.uri.path) \(status) \(String(format: "%.1f", ms))ms\(extra.isEmpty ? "" : " " + extra)")
    }
}

/// `--api-key`: requests must carry `Authorization: Bearer KEY` (OpenAI's scheme), compared in
/// constant time (every byte is looked at whatever the first difference, so the time taken does
/// not reveal how much of a guess was right). 401 with OpenAI's `invalid_api_key` otherwise.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let key: [UInt8]

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        guard Self.constantTimeEqual(given, key) else {
            throw APIError(status: .unauthorized, message: "Incorrect or missing API key: send the header 'Authorization: Bearer KEY'",
                           type: "invalid_request_error", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    /// Equal contents, in time that depends on the lengths only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
