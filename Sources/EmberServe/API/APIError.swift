import Foundation
import Hummingbird
import NIOCore

/// An error answered with OpenAI's error object (https://platform.openai.com/docs/guides/error-codes):
/// `{"error": {"message": …, "type": …, "param": …, "code": …}}` and an HTTP status.
///
/// Every failure of a request becomes one of these (``ErrorMiddleware``): the server never answers
/// with a bare 500 page nor crashes on bad input.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, `not_found_error`, `server_error`, …
    public var type: String
    /// The request field at fault, or nil.
    public var param: String?
    /// A machine-readable code (`model_not_found`, `context_length_exceeded`, …), or nil.
    public var code: String?
    /// Extra headers (`Retry-After` on a 503).
    public var headers: HTTPFields = [:]

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// 400 `invalid_request_error`.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 404 for a `model` that is not served.
    public static func modelNotFound(_ name: String, served: [String]) -> APIError {
        APIError(status: .notFound, message: "The model '\(name)' does not exist; this server has \(served.joined(separator: ", "))",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 503 with `Retry-After` when the request queue is full.
    public static func overloaded(retryAfterSeconds: Int) -> APIError {
        var e = APIError(status: .serviceUnavailable, message: "The server is busy: the request queue is full; retry after \(retryAfterSeconds) s",
                         type: "server_error", code: "queue_full")
        e.headers[.retryAfter] = String(retryAfterSeconds)
        return e
    }

    /// The JSON body `{"error": {...}}`, with `param` and `code` as `null` when absent.
    public var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The JSON response (no request needed).
    public func response() -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"message":"error","type":"server_error","param":null,"code":null}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The error for anything thrown while handling a request: an ``APIError`` as it is, a JSON
    /// decoding failure as a 400 naming the field, an oversized body as 413, Hummingbird's HTTP
    /// errors (404 for an unknown path) with their status, and anything else as a 500.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as DecodingError: return decoding(e)
        case is NIOTooManyBytesError:
            return APIError(status: .contentTooLarge, message: "The request body is too large", type: "invalid_request_error", code: "body_too_large")
        case let e as HTTPError:
            let type = e.status == .notFound ? "not_found_error" : e.status.code < 500 ? "invalid_request_error" : "server_error"
            return APIError(status: e.status, message: e.body ?? e.status.reasonPhrase, type: type)
        case let e as any HTTPResponseError:
            return APIError(status: e.status, message: "\(error)", type: e.status.code < 500 ? "invalid_request_error" : "server_error")
        default:
            return APIError(status: .internalServerError, message: "Internal error: \(error)", type: "server_error")
        }
    }

    /// A `DecodingError` as a 400: what was wrong, and the field path as `param`.
    static func decoding(_ error: DecodingError) -> APIError {
        func path(_ keys: [any CodingKey]) -> String? {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? nil : String(p.drop(while: { $0 == "." }))
        }
        switch error {
        case let .typeMismatch(type, context):
            let field = path(context.codingPath)
            return .invalidRequest("\(field ?? "the body") must be \(jsonTypeName(type))", param: field)
        case let .valueNotFound(type, context):
            let field = path(context.codingPath)
            return .invalidRequest("\(field ?? "the body") must be \(jsonTypeName(type)), not null", param: field)
        case let .keyNotFound(key, context):
            let field = path(context.codingPath + [key])
            return .invalidRequest("missing required parameter '\(field ?? key.stringValue)'", param: field)
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return .invalidRequest("The body is not valid JSON", code: "invalid_json")
            }
            let field = path(context.codingPath)
            return .invalidRequest("\(field ?? "a field") is invalid: \(context.debugDescription)", param: field)
        @unknown default:
            return .invalidRequest("The body could not be decoded")
        }
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "a boolean"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}

/// `{"error": {...}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?

        enum CodingKeys: String, CodingKey { case message, type, param, code }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
    }
    public var error: Detail
}
