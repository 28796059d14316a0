import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server for tests (the Hub client's, the chat judge's), over POSIX sockets on
/// 127.0.0.1 (ephemeral port). One connection at a time, `Connection: close` on every answer; it records
/// each request (with its `Content-Length` body) and stops by itself after `lifetime` seconds (or at
/// ``stop()``), so a test can never hang on it.
public final class TestHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names lowercased.
        public var headers: [String: String]
        /// The request body (`Content-Length` bytes; empty without one).
        public var body: Data
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)] = []
        public var body = Data()
        /// Send only this many body bytes (after headers that announce all of them), then close.
        public var cutAfter: Int?

        public init(status: Int, headers: [(String, String)] = [], body: Data = Data(), cutAfter: Int? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
            self.cutAfter = cutAfter
        }
    }

    public let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    /// Starts listening; `handler` answers each request (on the server's thread).
    public init(lifetime: TimeInterval = 60, handler: @escaping @Sendable (Request) -> Response) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard ok else { close(fd); throw POSIXError(.EADDRINUSE) }
        listenFD = fd
        port = UInt16(bigEndian: address.sin_port)
        let deadline = Date().addingTimeInterval(lifetime)
        Thread.detachNewThread { [self] in
            serve(until: deadline, handler)
            close(listenFD)    // from now on a client gets "connection refused"
            finished.signal()
        }
    }

    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The requests received so far.
    public var requests: [Request] { lock.withLock { recorded } }

    /// Stops accepting and waits (at most 5 s) for the server thread to end.
    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { _ = finished.wait(timeout: .now() + 5) }
    }

    private func serve(until deadline: Date, _ handler: @Sendable (Request) -> Response) {
        while !lock.withLock({ stopped }) && Date() < deadline {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if let request = readRequest(client) {
                lock.withLock { recorded.append(request) }
                send(handler(request), for: request, to: client)
            }
            shutdown(client, Int32(SHUT_RDWR))
            close(client)
        }
    }

    private func readRequest(_ fd: Int32) -> Request? {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while data.count < 1 << 16 {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return nil }
            data += buffer[0..<n]
            if data.count >= 4, let at = (0...(data.count - 4)).first(where: { Array(data[$0..<($0 + 4)]) == end }) {
                headerEnd = at
                break
            }
        }
        guard let headerEnd else { return nil }
        let text = String(decoding: data[..<headerEnd], as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let first = lines[0].split(separator: " ")
        guard first.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(headerEnd + 4)...])
        let length = min(Int(headers["content-length"] ?? "") ?? 0, 1 << 24)
        if body.count < length, headers["expect"]?.lowercased() == "100-continue" {
            sendAll(Data("HTTP/1.1 100 Continue\r\n\r\n".utf8), to: fd)
        }
        while body.count < length {
            let n = recv(fd, &buffer, min(buffer.count, length - body.count), 0)
            guard n > 0 else { return nil }
            body += buffer[0..<n]
        }
        return Request(method: String(first[0]), path: String(first[1]), headers: headers, body: Data(body))
    }

    private func send(_ response: Response, for request: Request, to fd: Int32) {
        var head = "HTTP/1.1 \(response.status) \(response.status < 300 ? "OK" : response.status < 400 ? "Found" : "Error")\r\n"
        var headers = response.headers
        if !headers.contains(where: { $0.0.lowercased() == "content-length" }) {
            headers.append(("Content-Length", String(response.body.count)))
        }
        headers.append(("Connection", "close"))
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        var bytes = Data(head.utf8)
        if request.method != "HEAD" { bytes.append(response.body.prefix(response.cutAfter ?? response.body.count)) }
        sendAll(bytes, to: fd)
    }

    private func sendAll(_ bytes: Data, to fd: Int32) {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                #if canImport(Glibc)
                let n = Glibc.send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                #else
                let n = Darwin.send(fd, raw.baseAddress! + done, raw.count - done, 0)
                #endif
                if n <= 0 { return }
                done += n
            }
        }
    }
}
