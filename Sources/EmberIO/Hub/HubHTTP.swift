import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The status and headers of an HTTP response (header names lowercased).
struct HubHTTPResponse: Sendable {
    var status: Int
    var headers: [String: String]
    /// The URL that answered (after any redirects that were followed).
    var url: URL

    /// The header `name` (any case).
    func header(_ name: String) -> String? { headers[name.lowercased()] }

    init(_ response: HTTPURLResponse) {
        status = response.statusCode
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let k = key as? String, let v = value as? String { headers[k.lowercased()] = v }
        }
        self.headers = headers
        url = response.url ?? URL(string: "about:blank")!
    }
}

/// Where a successful (2xx) response body goes. ``begin(_:)`` sees the response first and may refuse it by
/// throwing; ``write(_:)`` gets the bytes as they arrive. Called on one URLSession delegate queue.
protocol HubBodySink: AnyObject {
    func begin(_ response: HubHTTPResponse) throws
    func write(_ data: Data) throws
}

/// Collects a small body (JSON listings) in memory, refusing more than `limit` bytes.
final class HubMemorySink: HubBodySink {
    private(set) var data = Data()
    let limit: Int
    init(limit: Int = 64 << 20) { self.limit = limit }
    func begin(_ response: HubHTTPResponse) throws {}
    func write(_ chunk: Data) throws {
        guard data.count + chunk.count <= limit else { throw URLError(.dataLengthExceedsMaximum) }
        data.append(chunk)
    }
}

/// HTTP requests through Foundation's `URLSession` (libcurl on Linux), with the redirect policy the Hub
/// protocol needs: a `HEAD` on a resolve URL follows only relative redirects (a renamed repository), so
/// that the `302` to the CDN and its `X-Linked-Etag`/`X-Linked-Size`/`X-Repo-Commit` headers come back;
/// a `GET` follows every redirect but drops `Authorization` when the host changes (a signed CDN URL must not
/// receive the token). Bodies stream to a ``HubBodySink``: no file is held in memory.
struct HubHTTP: Sendable {
    /// Seconds without any data before a request fails.
    var timeout: TimeInterval = 60

    /// Sends `method` to `url` and returns the final response. For a 2xx answer the body goes to `sink`;
    /// otherwise up to 64 KiB of it is returned in `errorBody`.
    /// - Throws: the `URLError` of a failed connection or cut transfer, or what `sink` throws.
    func send(_ method: String, _ url: URL, headers: [String: String], followRedirects: Bool,
              sink: HubBodySink? = nil) async throws -> (response: HubHTTPResponse, errorBody: Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        // The real size of the file is wanted, never a compressed transfer (`get_hf_file_metadata`).
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.timeoutInterval = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpShouldSetCookies = false
        let transfer = HubTransfer(request: request, followAllRedirects: followRedirects, sink: sink)
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.start(task, continuation)
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// The delegate of one request: applies the redirect policy, feeds the sink and resumes the caller.
private final class HubTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private let request: URLRequest
    private let followAllRedirects: Bool
    private let sink: HubBodySink?
    private var continuation: CheckedContinuation<(response: HubHTTPResponse, errorBody: Data), Error>?
    private var response: HubHTTPResponse?
    private var errorBody = Data()
    private var sinkError: Error?
    private var bodyToSink = false

    init(request: URLRequest, followAllRedirects: Bool, sink: HubBodySink?) {
        self.request = request
        self.followAllRedirects = followAllRedirects
        self.sink = sink
    }

    func start(_ task: URLSessionDataTask, _ continuation: CheckedContinuation<(response: HubHTTPResponse, errorBody: Data), Error>) {
        lock.withLock { self.continuation = continuation }
        task.resume()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        let location = response.value(forHTTPHeaderField: "Location") ?? ""
        let relative = URLComponents(string: location)?.scheme == nil
        guard followAllRedirects || relative, let target = newRequest.url else { return completionHandler(nil) }
        var next = request
        next.url = target
        if target.host != request.url?.host || target.port != request.url?.port {
            next.setValue(nil, forHTTPHeaderField: "Authorization")
        }
        completionHandler(next)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { return completionHandler(.cancel) }
        let head = HubHTTPResponse(http)
        lock.withLock { self.response = head }
        if (200..<300).contains(head.status), let sink {
            do {
                try sink.begin(head)
                lock.withLock { bodyToSink = true }
            } catch {
                lock.withLock { sinkError = error }
                return completionHandler(.cancel)
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let toSink = lock.withLock { bodyToSink }
        if toSink, let sink {
            do { try sink.write(data) } catch {
                lock.withLock { sinkError = error }
                dataTask.cancel()
            }
        } else {
            lock.withLock { if errorBody.count < 1 << 16 { errorBody.append(data.prefix((1 << 16) - errorBody.count)) } }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (continuation, response, body, sinkError) = lock.withLock {
            let c = self.continuation
            self.continuation = nil
            return (c, self.response, errorBody, self.sinkError)
        }
        if let sinkError {
            continuation?.resume(throwing: sinkError)
        } else if let error {
            continuation?.resume(throwing: error)
        } else if let response {
            continuation?.resume(returning: (response, body))
        } else {
            continuation?.resume(throwing: URLError(.badServerResponse))
        }
    }
}
