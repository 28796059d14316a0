import Foundation
import Hummingbird

/// Hummingbird's request context plus what the request log line needs from the handlers.
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Filled by the handlers, written by ``RequestLogMiddleware``.
    public let log = RequestLogEntry()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// The fields of one request's log line. A streamed response writes its line itself when the
/// stream ends (``deferred``); every other response is logged by ``RequestLogMiddleware``.
public final class RequestLogEntry: @unchecked Sendable {
    private let lock = NSLock()
    private var fields: [(String, String)] = []
    private var isDeferred = false
    /// When the request's handling began (`DispatchTime` nanoseconds).
    let start = DispatchTime.now().uptimeNanoseconds

    /// Adds `key=value` to the line.
    public func set(_ key: String, _ value: CustomStringConvertible) {
        lock.withLock { fields.append((key, value.description)) }
    }

    /// Marks the line as written by the response body at its end.
    func deferToBody() { lock.withLock { isDeferred = true } }
    var deferred: Bool { lock.withLock { isDeferred } }

    var text: String { lock.withLock { fields.map { "\($0)=\($1)" }.joined(separator: " ") } }
}
