import EmberIO
import EmberTestSupport
import Foundation

/// A model repository served in the Hugging Face Hub's URL layout by a ``TestHTTPServer``:
/// `GET /api/models/{repo}/revision/{rev}` (JSON `sha` + `siblings`), `HEAD`/`GET /{repo}/resolve/{rev}/{file}`
/// (git files: 200 with `ETag` = git sha1; LFS files: 302 to `/cdn/{sha256}` with `X-Linked-Etag`,
/// `X-Linked-Size`), `X-Repo-Commit` on every resolve answer, `X-Error-Code` on 404s, `Range` on the CDN.
/// Behaviour as https://huggingface.co/docs/hub/api and `huggingface_hub/file_download.py` expect it.
struct FakeHub: Sendable {
    struct File: Sendable {
        var bytes: Data
        /// LFS files are announced by sha256 and redirected to the CDN path.
        var lfs: Bool
        /// The etag to announce (sha256 for LFS, a git sha1 otherwise).
        var etag: String
    }

    var repoId = "tiny-org/tiny-gpt2"
    var commit = "0123456789abcdef0123456789abcdef01234567"
    var files: [(String, File)] = []
    /// When set, requests without `Authorization: Bearer <token>` get 401.
    var requiredToken: String?
    /// Host name in the CDN redirect (`localhost` makes it a different host from `127.0.0.1`).
    var cdnHost = "127.0.0.1"
    /// The CDN sends only this many bytes of the body on its first full (non-Range) answer, then closes.
    var cutFirstTransferAfter: Int?
    /// The CDN serves these bytes instead of the file's (for checksum tests).
    var corruptCDN = false
    /// The CDN answers a `Range` request with the whole file (200), as a server without range support.
    var ignoreRange = false

    /// The tiny GPT-2 fixture: `config.json` (git file) and `model.safetensors` (LFS file).
    static func tinyGPT2() throws -> FakeHub {
        var hub = FakeHub()
        let config = try Data(contentsOf: Fixtures.url("hub_layout_tiny/config.json"))
        let model = try Data(contentsOf: Fixtures.url("hub_layout_tiny/model.safetensors"))
        hub.files = [
            ("config.json", File(bytes: config, lfs: false, etag: "803f3191e0bc3c3d061519d5aa4c277ad8435c78")),
            ("model.safetensors", File(bytes: model, lfs: true, etag: "68b66db0bd8df22cb7c12a430f20285b8e48d4d6f2ad33cb900527744e30cf18")),
            ("flax_model.msgpack", File(bytes: Data("not wanted".utf8), lfs: true, etag: SHA256Digest.hex(Data("not wanted".utf8)))),
            ("nested/dir/notes.txt", File(bytes: Data("nested file\n".utf8), lfs: false, etag: "1111111111111111111111111111111111111111")),
        ]
        return hub
    }

    func file(_ name: String) -> File? { files.first { $0.0 == name }?.1 }

    /// Starts a server for this repository (it stops itself after `lifetime` seconds).
    func start(lifetime: TimeInterval = 60) throws -> TestHTTPServer {
        let cutState = CutState()
        return try TestHTTPServer(lifetime: lifetime) { request in self.answer(request, cut: cutState) }
    }

    private final class CutState: @unchecked Sendable {
        let lock = NSLock()
        var done = false
        func takeFirst() -> Bool { lock.withLock { defer { done = true }; return !done } }
    }

    private func answer(_ request: TestHTTPServer.Request, cut: CutState) -> TestHTTPServer.Response {
        let port = request.headers["host"]?.split(separator: ":").last.map(String.init) ?? "80"
        let path = request.path.removingPercentEncoding ?? request.path
        if path.hasPrefix("/cdn/") { return cdn(String(path.dropFirst(5)), request, cut: cut) }
        if let token = requiredToken, request.headers["authorization"] != "Bearer \(token)" {
            return TestHTTPServer.Response(status: 401, headers: [("X-Error-Message", "Invalid username or password.")])
        }
        let listingPrefix = "/api/models/"
        if request.method == "GET" && path.hasPrefix(listingPrefix) {
            let rest = path.dropFirst(listingPrefix.count)
            guard let r = rest.range(of: "/revision/") else { return TestHTTPServer.Response(status: 404) }
            guard rest[..<r.lowerBound] == repoId else { return notFound("RepoNotFound") }
            let revision = String(rest[r.upperBound...])
            guard revision == "main" || revision == commit else { return notFound("RevisionNotFound") }
            let siblings = files.map { ["rfilename": $0.0] }
            let json = try! JSONSerialization.data(withJSONObject: ["id": repoId, "sha": commit, "siblings": siblings])
            return TestHTTPServer.Response(status: 200, headers: [("Content-Type", "application/json")], body: json)
        }
        guard path.hasPrefix("/\(repoId)/resolve/") else { return notFound("RepoNotFound") }
        let rest = path.dropFirst("/\(repoId)/resolve/".count)
        guard let slash = rest.firstIndex(of: "/") else { return notFound("EntryNotFound") }
        let revision = String(rest[..<slash])
        let filename = String(rest[rest.index(after: slash)...])
        guard revision == "main" || revision == commit else { return notFound("RevisionNotFound") }
        guard let file = file(filename) else {
            var r = notFound("EntryNotFound")
            r.headers.append(("X-Repo-Commit", commit))
            return r
        }
        if file.lfs {
            return TestHTTPServer.Response(status: 302, headers: [
                ("Location", "http://\(cdnHost):\(port)/cdn/\(file.etag)"), ("X-Repo-Commit", commit),
                ("X-Linked-Etag", "\"\(file.etag)\""), ("X-Linked-Size", String(file.bytes.count)),
                ("ETag", "W/\"0000-some-other-etag\""),
            ])
        }
        return TestHTTPServer.Response(status: 200, headers: [("X-Repo-Commit", commit), ("ETag", "\"\(file.etag)\"")], body: file.bytes)
    }

    private func cdn(_ etag: String, _ request: TestHTTPServer.Request, cut: CutState) -> TestHTTPServer.Response {
        guard var bytes = files.first(where: { $0.1.etag == etag })?.1.bytes else { return TestHTTPServer.Response(status: 404) }
        if corruptCDN { bytes[bytes.count / 2] ^= 0xFF }
        if let range = request.headers["range"], !ignoreRange {
            // bytes=START-
            guard range.hasPrefix("bytes="), range.hasSuffix("-"), let start = Int(range.dropFirst(6).dropLast()) else {
                return TestHTTPServer.Response(status: 400)
            }
            guard start < bytes.count else { return TestHTTPServer.Response(status: 416, headers: [("Content-Range", "bytes */\(bytes.count)")]) }
            return TestHTTPServer.Response(status: 206, headers: [("Content-Range", "bytes \(start)-\(bytes.count - 1)/\(bytes.count)")],
                                          body: bytes[start...])
        }
        var response = TestHTTPServer.Response(status: 200, body: bytes)
        if let n = cutFirstTransferAfter, request.method == "GET", cut.takeFirst() { response.cutAfter = n }
        return response
    }

    private func notFound(_ code: String) -> TestHTTPServer.Response {
        TestHTTPServer.Response(status: 404, headers: [("X-Error-Code", code), ("X-Error-Message", "\(code) (fake hub)")])
    }
}
