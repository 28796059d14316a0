import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven over the Chrome DevTools Protocol (https://chromedevtools.github.io/devtools-protocol/):
/// a minimal blocking WebSocket client (RFC 6455: masked text frames out, unmasked frames in) on a
/// loopback socket, enough for `Runtime.evaluate`, `Input.*` and `Page.*` commands.
final class DevToolsClient {
    private let fd: Int32
    private var nextId = 0
    private var pending = [UInt8]()

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Connects to `ws://127.0.0.1:port/path`.
    init(port: Int, path: String, timeout: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw Failure(description: "connect to DevTools on port \(port) failed") }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try write(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        var head = [UInt8]()
        while !(head.count >= 4 && Array(head.suffix(4)) == Array("\r\n\r\n".utf8)) { head += try read(1) }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            close(fd)
            throw Failure(description: "WebSocket upgrade refused: \(String(decoding: head, as: UTF8.self))")
        }
    }

    deinit { close(fd) }

    /// Sends a command and returns its `result` (events that arrive meanwhile are skipped).
    /// - Throws: the protocol's `error`, a socket failure or a timeout.
    @discardableResult
    func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        nextId += 1
        let id = nextId
        let message = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params])
        try sendFrame(Array(message))
        while true {
            let frame = try receiveMessage()
            guard let json = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any], json["id"] as? Int == id else { continue }
            if let error = json["error"] { throw Failure(description: "\(method) failed: \(error)") }
            return json["result"] as? [String: Any] ?? [:]
        }
    }

    /// `Runtime.evaluate(expression)` by value (promises awaited).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression) threw: \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` every 50 ms until it is true, at most `attempts` times.
    func waitFor(_ expression: String, attempts: Int = 400) throws -> Bool {
        for _ in 0..<attempts {
            if try evaluate(expression) as? Bool == true { return true }
            usleep(50_000)
        }
        return false
    }

    private func sendFrame(_ payload: [UInt8]) throws {
        var frame: [UInt8] = [0x81]                                            // FIN, text
        let n = payload.count
        if n < 126 { frame.append(0x80 | UInt8(n)) }
        else if n < 65536 { frame += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xff)] }
        else { frame.append(0x80 | 127); frame += (0..<8).reversed().map { UInt8((n >> ($0 * 8)) & 0xff) } }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 % 4] }
        try write(frame)
    }

    private func receiveMessage() throws -> [UInt8] {
        var message = [UInt8]()
        while true {
            let head = try read(2)
            let opcode = head[0] & 0x0f, fin = head[0] & 0x80 != 0
            var length = Int(head[1] & 0x7f)
            if length == 126 { let b = try read(2); length = Int(b[0]) << 8 | Int(b[1]) }
            else if length == 127 { length = try read(8).reduce(0) { $0 << 8 | Int($1) } }
            let mask = head[1] & 0x80 != 0 ? try read(4) : nil
            var payload = try read(length)
            if let mask { payload = payload.enumerated().map { $1 ^ mask[$0 % 4] } }
            switch opcode {
            case 0x8: throw Failure(description: "DevTools closed the WebSocket")
            case 0x9, 0xA: continue                                            // ping/pong
            default:
                message += payload
                if fin { return message }
            }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "WebSocket write failed") }
            sent += n
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while pending.count < count {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { throw Failure(description: "WebSocket read failed or timed out") }
            pending += chunk[..<n]
        }
        defer { pending.removeFirst(count) }
        return Array(pending[..<count])
    }
}

/// A headless Chromium process with its DevTools endpoint on a free loopback port, killed by ``stop()``.
final class HeadlessChromium {
    let process = Process()
    let profile: URL
    let devToolsPort: Int

    /// The Chromium executable on PATH (`chromium`, `chromium-browser`, `google-chrome`), or nil.
    static func executable() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in path.split(separator: ":") {
                let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
        }
        return nil
    }

    /// Starts Chromium on `url` and waits (bounded) for its DevTools port.
    init(executable: URL, url: String) throws {
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("ember-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        process.executableURL = executable
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--disable-extensions", "--disable-background-networking", "--remote-debugging-address=127.0.0.1",
                             "--remote-debugging-port=0", "--user-data-dir=\(profile.path)", "--window-size=1000,700", url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let portFile = profile.appendingPathComponent("DevToolsActivePort")
        var port = 0
        for _ in 0..<600 where port == 0 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let first = text.split(separator: "\n").first, let p = Int(first) {
                port = p
            } else {
                usleep(50_000)
            }
        }
        guard port > 0 else { process.terminate(); throw DevToolsClient.Failure(description: "Chromium did not open its DevTools port") }
        devToolsPort = port
    }

    /// The DevTools client of the first page target.
    func page() throws -> DevToolsClient {
        for _ in 0..<200 {
            let list = try HTTPTestClient(port: devToolsPort).get("/json/list")
            if let targets = try JSONSerialization.jsonObject(with: list.body) as? [[String: Any]],
               let page = targets.first(where: { $0["type"] as? String == "page" }),
               let ws = page["webSocketDebuggerUrl"] as? String, let url = URL(string: ws) {
                return try DevToolsClient(port: devToolsPort, path: url.path)
            }
            usleep(50_000)
        }
        throw DevToolsClient.Failure(description: "no page target")
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: profile)
    }
}
