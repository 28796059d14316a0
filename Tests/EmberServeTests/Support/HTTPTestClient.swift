import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 client over a loopback TCP socket, for tests: one request per
/// connection (`Connection: close`), chunked bodies decoded, a receive timeout so no test hangs,
/// and a streaming mode that hands each decoded body piece to a callback (which may stop reading
/// and close the socket, as a client that goes away).
struct HTTPTestClient {
    let port: Int
    /// Seconds a read may wait.
    var timeout = 120

    struct Reply {
        var status: Int
        var headers: [String: String]          // lower-cased names
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    func get(_ path: String, headers: [String: String] = [:]) throws -> Reply {
        try send("GET", path, headers: headers, body: nil)
    }

    func post(_ path: String, json: Any, headers: [String: String] = [:]) throws -> Reply {
        try post(path, raw: try JSONSerialization.data(withJSONObject: json), headers: headers)
    }

    func post(_ path: String, raw: Data, headers: [String: String] = [:], onBody: ((Data) -> Bool)? = nil) throws -> Reply {
        try send("POST", path, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a }, body: raw, onBody: onBody)
    }

    /// Sends a request and reads the reply; `onBody` gets each body piece as it arrives and returns
    /// false to stop reading (the connection is then closed).
    func send(_ method: String, _ path: String, headers: [String: String], body: Data?,
              onBody: ((Data) -> Bool)? = nil) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sendTimeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port) failed") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        // The server may answer (413) and close before reading a large body: a failed send is not an error.
        out.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { break }
                sent += n
            }
        }

        var buffer = Data()
        var reply: Reply?
        var chunked = false
        var decoder = ChunkedDecoder()
        var bodyData = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n < 0 {
                if reply != nil && errno == ECONNRESET { break }
                throw Failure(description: "read from the server failed or timed out (errno \(errno))")
            }
            if n == 0 { break }
            buffer.append(contentsOf: chunk[..<n])
            if reply == nil {
                guard let end = buffer.range(of: Data("\r\n\r\n".utf8)) else { continue }
                let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let status = lines[0].split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                var fields: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                reply = Reply(status: status, headers: fields, body: Data())
                chunked = fields["transfer-encoding"]?.lowercased() == "chunked"
                buffer = Data(buffer[end.upperBound...])
            }
            let piece = chunked ? decoder.feed(buffer) : buffer
            buffer = Data()
            if !piece.isEmpty {
                bodyData.append(piece)
                if let onBody, !onBody(piece) { break }
            }
            if chunked && decoder.done { break }
            if !chunked, let length = reply?.headers["content-length"].flatMap({ Int($0) }), bodyData.count >= length { break }
        }
        guard var result = reply else { throw Failure(description: "no HTTP reply") }
        result.body = bodyData
        return result
    }
}

/// Decodes `Transfer-Encoding: chunked` incrementally.
struct ChunkedDecoder {
    private var pending = Data()
    private(set) var done = false

    mutating func feed(_ data: Data) -> Data {
        pending.append(data)
        var out = Data()
        while !done {
            guard let lineEnd = pending.range(of: Data("\r\n".utf8)) else { break }
            let sizeText = String(decoding: pending[pending.startIndex..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { done = true; break }
            let start = lineEnd.upperBound
            guard pending.distance(from: start, to: pending.endIndex) >= size + 2 else { break }
            if size == 0 { done = true; break }
            let end = pending.index(start, offsetBy: size)
            out.append(pending[start..<end])
            pending = Data(pending[pending.index(end, offsetBy: 2)...])
        }
        return out
    }
}

/// Server-Sent Events: the `data:` payloads of complete events in `text`.
func sseData(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").compactMap { event in
        event.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
    }
}
