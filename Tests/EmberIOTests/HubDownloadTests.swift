@testable import EmberIO
import EmberTestSupport
import Foundation
import XCTest

/// `HubClient` against ``FakeHub`` on 127.0.0.1: the cache layout `huggingface_hub` writes (blobs, relative
/// symlinks, refs), the cache reused, offline mode, a cut transfer resumed with `Range`, a wrong checksum,
/// 404/401 errors, and the environment variables. Every server stops by itself within 60 s and every request
/// times out after 10 s.
final class HubDownloadTests: XCTestCase {
    private var temp: URL!

    override func setUpWithError() throws {
        temp = try Fixtures.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temp)
    }

    private var cache: URL { temp.appendingPathComponent("hub") }
    private var repoFolder: URL { cache.appendingPathComponent("models--tiny-org--tiny-gpt2") }

    private func client(_ server: TestHTTPServer?, _ extra: [String: String] = [:]) -> HubClient {
        var env = ["HOME": temp.path, "HF_HUB_CACHE": cache.path, "HF_ENDPOINT": server?.endpoint ?? "http://127.0.0.1:9"]
        env.merge(extra) { $1 }
        var client = HubClient(environment: env)
        client.http.timeout = 10
        return client
    }

    private func expectError(_ kind: HubError.Kind, _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async -> HubError? {
        do {
            try await body()
            XCTFail("expected a \(kind) error", file: file, line: line)
        } catch let error as HubError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            return error
        } catch {
            XCTFail("expected a HubError(\(kind)), got \(error)", file: file, line: line)
        }
        return nil
    }

    private func resolveGets(_ server: TestHTTPServer) -> [TestHTTPServer.Request] {
        server.requests.filter { ($0.path.contains("/resolve/") || $0.path.hasPrefix("/cdn/")) }
    }

    func testFullDownloadWritesTheHubCacheLayout() async throws {
        let hub = try FakeHub.tinyGPT2()
        let server = try hub.start()
        defer { server.stop() }
        let reports = ReportLog()
        let dir = try await client(server).snapshot(repoId: hub.repoId, progress: { reports.append($0) })

        XCTAssertEqual(dir.path, repoFolder.appendingPathComponent("snapshots/\(hub.commit)").path)
        XCTAssertEqual(try String(contentsOf: repoFolder.appendingPathComponent("refs/main"), encoding: .utf8), hub.commit)
        // The default selection: config + safetensors, not the Flax file nor the nested notes.
        let listed = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(listed, ["config.json", "model.safetensors"])
        for name in ["config.json", "model.safetensors"] {
            let f = try XCTUnwrap(hub.file(name))
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent(name).path)
            XCTAssertEqual(link, "../../blobs/\(f.etag)", name)
            XCTAssertEqual(try Data(contentsOf: repoFolder.appendingPathComponent("blobs/\(f.etag)")), f.bytes, name)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(name)), f.bytes, name)
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path).sorted()
        XCTAssertEqual(blobs, [hub.file("model.safetensors")!.etag, hub.file("config.json")!.etag].sorted(), "no .incomplete left")
        // The LFS file came through the 302 to the CDN; HEADs went to the resolve URL at the commit.
        let requests = server.requests.map { "\($0.method) \($0.path)" }
        XCTAssertTrue(requests.contains("HEAD /\(hub.repoId)/resolve/\(hub.commit)/model.safetensors"), "\(requests)")
        XCTAssertTrue(requests.contains("GET /cdn/\(hub.file("model.safetensors")!.etag)"), "\(requests)")
        XCTAssertFalse(requests.contains { $0.contains("flax") }, "\(requests)")
        // Progress: both files finished, the last report at the total.
        let finished = reports.all.filter { $0.event == .finished }
        XCTAssertEqual(Set(finished.map(\.filename)), ["config.json", "model.safetensors"])
        XCTAssertEqual(finished.last?.bytesDone, 51_032 + 750)
        XCTAssertEqual(finished.last?.totalBytes, 51_032 + 750)
    }

    func testSecondCallUsesTheCacheAndNestedFilesLinkDeeper() async throws {
        let hub = try FakeHub.tinyGPT2()
        let server = try hub.start()
        defer { server.stop() }
        let client = client(server)
        _ = try await client.snapshot(repoId: hub.repoId)
        let before = resolveGets(server).count
        XCTAssertGreaterThan(before, 0)
        let reports = ReportLog()
        let dir = try await client.snapshot(repoId: hub.repoId, progress: { reports.append($0) })
        XCTAssertEqual(resolveGets(server).count, before, "the second call made no HEAD or GET on a file")
        XCTAssertEqual(Set(reports.all.filter { $0.event == .cached }.map(\.filename)), ["config.json", "model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), hub.file("model.safetensors")!.bytes)

        // A nested file: snapshots/<commit>/nested/dir/notes.txt -> ../../../../blobs/<etag>.
        let nested = try await client.snapshot(repoId: hub.repoId, revision: hub.commit, include: ["nested/"])
        XCTAssertEqual(nested, dir)
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("nested/dir/notes.txt").path)
        XCTAssertEqual(link, "../../../../blobs/1111111111111111111111111111111111111111")
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("nested/dir/notes.txt"), encoding: .utf8), "nested file\n")
    }

    func testOfflineModeUsesTheCacheOrSaysItIsMissing() async throws {
        let hub = try FakeHub.tinyGPT2()
        let offline = client(nil, ["HF_HUB_OFFLINE": "1"])
        let missing = await expectError(.notCached) { _ = try await offline.snapshot(repoId: hub.repoId) }
        XCTAssertTrue(missing?.message.contains("HF_HUB_OFFLINE") == true, "\(String(describing: missing))")

        let server = try hub.start()
        let online = try await client(server).snapshot(repoId: hub.repoId)
        server.stop()
        let cached = try await offline.snapshot(repoId: hub.repoId)
        XCTAssertEqual(cached, online)
        XCTAssertEqual(try Data(contentsOf: cached.appendingPathComponent("config.json")), hub.file("config.json")!.bytes)
        _ = await expectError(.notCached) { _ = try await offline.snapshot(repoId: hub.repoId, revision: "v2") }
        _ = await expectError(.notCached) { _ = try await offline.snapshot(repoId: hub.repoId, include: ["tokenizer.json"]) }
        // No network at all (the server is gone): the cached snapshot still answers, an uncached repo fails clearly.
        let unreachable = client(server)
        let again = try await unreachable.snapshot(repoId: hub.repoId)
        XCTAssertEqual(again, online)
        let error = await expectError(.networkUnavailable) { _ = try await unreachable.snapshot(repoId: "other/repo") }
        XCTAssertTrue(error?.description.contains("other/repo") == true, "\(String(describing: error))")
    }

    func testCutTransferIsResumedWithRange() async throws {
        var hub = try FakeHub.tinyGPT2()
        hub.cutFirstTransferAfter = 20_000
        let model = hub.file("model.safetensors")!
        let incomplete = repoFolder.appendingPathComponent("blobs/\(model.etag).incomplete")
        let pointer = repoFolder.appendingPathComponent("snapshots/\(hub.commit)/model.safetensors")

        // Without automatic resumption the call fails, leaving only the .incomplete prefix.
        let server = try hub.start()
        defer { server.stop() }
        var once = client(server)
        once.resumeAttempts = 0
        let error = await expectError(.networkUnavailable) { _ = try await once.snapshot(repoId: hub.repoId, include: ["model.safetensors"]) }
        XCTAssertEqual(error?.filename, "model.safetensors")
        XCTAssertEqual(try Data(contentsOf: incomplete), model.bytes.prefix(20_000))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder.appendingPathComponent("blobs/\(model.etag)").path))
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path), "no link to a missing blob")

        // The next call asks for the rest only and completes.
        let dir = try await client(server).snapshot(repoId: hub.repoId, include: ["model.safetensors"])
        let ranges = server.requests.filter { $0.path.hasPrefix("/cdn/") }.map { $0.headers["range"] }
        XCTAssertEqual(ranges, [nil, "bytes=20000-"])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), model.bytes)
        XCTAssertFalse(FileManager.default.fileExists(atPath: incomplete.path))
    }

    func testCutTransferIsResumedWithinOneCall() async throws {
        var hub = try FakeHub.tinyGPT2()
        hub.cutFirstTransferAfter = 30_000
        let server = try hub.start()
        defer { server.stop() }
        let dir = try await client(server).snapshot(repoId: hub.repoId)
        let ranges = server.requests.filter { $0.path.hasPrefix("/cdn/") }.map { $0.headers["range"] }
        XCTAssertEqual(ranges, [nil, "bytes=30000-"])
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), hub.file("model.safetensors")!.bytes)
    }

    func testServerWithoutRangeSupportRestartsTheFile() async throws {
        var hub = try FakeHub.tinyGPT2()
        hub.cutFirstTransferAfter = 25_000
        hub.ignoreRange = true
        let server = try hub.start()
        defer { server.stop() }
        let dir = try await client(server).snapshot(repoId: hub.repoId, include: ["model.safetensors"])
        let ranges = server.requests.filter { $0.path.hasPrefix("/cdn/") }.map { $0.headers["range"] }
        XCTAssertEqual(ranges, [nil, "bytes=25000-"])
        // The 200 answer to the range request replaced the partial file instead of being appended to it.
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), hub.file("model.safetensors")!.bytes)
    }

    func testWrongChecksumLeavesNothingBehind() async throws {
        var hub = try FakeHub.tinyGPT2()
        hub.corruptCDN = true
        let server = try hub.start()
        defer { server.stop() }
        let error = await expectError(.checksumMismatch) { _ = try await client(server).snapshot(repoId: hub.repoId) }
        XCTAssertEqual(error?.filename, "model.safetensors")
        XCTAssertTrue(error?.message.contains("68b66db0bd8df22cb7c12a430f20285b8e48d4d6f2ad33cb900527744e30cf18") == true, "\(String(describing: error))")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path)) ?? []
        XCTAssertFalse(blobs.contains { $0.hasPrefix("68b66db0") }, "no blob nor .incomplete left: \(blobs)")
        let snapshot = repoFolder.appendingPathComponent("snapshots/\(hub.commit)/model.safetensors").path
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: snapshot))
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot))
    }

    func testNotFoundAndUnauthorizedAreClear() async throws {
        var hub = try FakeHub.tinyGPT2()
        let server = try hub.start()
        defer { server.stop() }
        let c = client(server)
        let repo = await expectError(.repoNotFound) { _ = try await c.snapshot(repoId: "tiny-org/nope") }
        XCTAssertEqual(repo?.repoId, "tiny-org/nope")
        XCTAssertTrue(repo?.message.contains("HF_TOKEN") == true, "\(String(describing: repo))")
        _ = await expectError(.revisionNotFound) { _ = try await c.snapshot(repoId: hub.repoId, revision: "v9") }
        let file = await expectError(.entryNotFound) { _ = try await c.snapshot(repoId: hub.repoId, include: ["pytorch_model.bin"]) }
        XCTAssertEqual(file?.filename, "pytorch_model.bin")
        // A file the listing has but the resolve URL does not: the HEAD's 404 EntryNotFound.
        let fileOnly = try await c.fileMetadataError(repoId: hub.repoId, commit: hub.commit, filename: "missing.bin")
        XCTAssertEqual(fileOnly?.kind, .entryNotFound)
        XCTAssertEqual(fileOnly?.filename, "missing.bin")
        _ = await expectError(.invalidRepoId) { _ = try await c.snapshot(repoId: "../etc") }
        server.stop()

        hub.requiredToken = "hf_secret"
        let gated = try hub.start()
        defer { gated.stop() }
        let denied = await expectError(.unauthorized) { _ = try await client(gated).snapshot(repoId: hub.repoId) }
        XCTAssertTrue(denied?.message.contains("HF_TOKEN") == true, "\(String(describing: denied))")
        XCTAssertTrue(denied?.message.contains("401") == true, "\(String(describing: denied))")
        let wrong = await expectError(.unauthorized) { _ = try await client(gated, ["HF_TOKEN": "hf_wrong"]).snapshot(repoId: hub.repoId) }
        XCTAssertTrue(wrong?.message.contains("was sent") == true, "\(String(describing: wrong))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder.appendingPathComponent("snapshots").path))
    }

    func testEnvironmentIsHonoured() async throws {
        var hub = try FakeHub.tinyGPT2()
        hub.requiredToken = "hf_secret"
        hub.cdnHost = "localhost"    // another host: the signed CDN URL must not get the token
        let server = try hub.start()
        defer { server.stop() }
        let home = temp.appendingPathComponent("hf-home")
        let viaHome = HubClient(environment: ["HOME": temp.path, "HF_HOME": home.path, "HF_ENDPOINT": server.endpoint + "/",
                                              "HF_TOKEN": "hf_secret"])
        XCTAssertEqual(viaHome.settings.cacheDirectory.path, home.appendingPathComponent("hub").path)
        let dir = try await viaHome.snapshot(repoId: hub.repoId)
        XCTAssertTrue(dir.path.hasPrefix(home.appendingPathComponent("hub/models--tiny-org--tiny-gpt2/snapshots").path), dir.path)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("model.safetensors")), hub.file("model.safetensors")!.bytes)
        for request in server.requests {
            if request.path.hasPrefix("/cdn/") {
                XCTAssertNil(request.headers["authorization"], "no token to the CDN: \(request.path)")
            } else {
                XCTAssertEqual(request.headers["authorization"], "Bearer hf_secret", "\(request.method) \(request.path)")
            }
        }
        XCTAssertTrue(server.requests.contains { $0.path.hasPrefix("/cdn/") })

        // HF_HUB_CACHE wins over HF_HOME.
        let explicit = temp.appendingPathComponent("explicit-cache")
        let viaCache = HubClient(environment: ["HF_HOME": home.path, "HF_HUB_CACHE": explicit.path, "HF_ENDPOINT": server.endpoint,
                                               "HF_TOKEN": "hf_secret"])
        let dir2 = try await viaCache.snapshot(repoId: hub.repoId, include: ["config.json"])
        XCTAssertEqual(dir2.path, explicit.appendingPathComponent("models--tiny-org--tiny-gpt2/snapshots/\(hub.commit)").path)
    }

    func testSettingsDefaultsAsHuggingFaceHub() throws {
        let d = HubSettings(environment: ["HOME": "/home/u"])
        XCTAssertEqual(d.endpoint, "https://huggingface.co")
        XCTAssertEqual(d.cacheDirectory.path, "/home/u/.cache/huggingface/hub")
        XCTAssertFalse(d.offline)
        XCTAssertNil(d.token)
        XCTAssertEqual(HubSettings(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/x"]).cacheDirectory.path, "/x/huggingface/hub")
        XCTAssertEqual(HubSettings(environment: ["HOME": "/h", "HF_HOME": "~/hf"]).cacheDirectory.path, "/h/hf/hub")
        for (value, offline) in [("1", true), ("true", true), ("YES", true), ("on", true), ("0", false), ("no", false)] {
            XCTAssertEqual(HubSettings(environment: ["HF_HUB_OFFLINE": value]).offline, offline, value)
        }
        // The token `hf auth login` saves in $HF_HOME/token is used when HF_TOKEN is unset.
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        try "hf_saved\n".write(to: temp.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        XCTAssertEqual(HubSettings(environment: ["HF_HOME": temp.path]).token, "hf_saved")
        XCTAssertEqual(HubSettings(environment: ["HF_HOME": temp.path, "HF_TOKEN": "hf_env"]).token, "hf_env")
    }

    func testRepoIdsAndPatterns() throws {
        for id in ["gpt2", "openai-community/gpt2", "rasbt/gpt2-from-scratch-pytorch", "org_1/model.v2"] {
            XCTAssertTrue(HubClient.looksLikeRepoId(id), id)
        }
        for id in ["", "a/b/c", "/abs/path", "./gpt2", "org//x", "org/-x", "a--b/c", "a/..b", "model.pth", "weights.safetensors",
                   "dir/", temp.path, FileManager.default.currentDirectoryPath] {
            XCTAssertFalse(HubClient.looksLikeRepoId(id), id)
        }
        // fnmatch: `*` crosses `/`, sets, a trailing `/` selects a folder.
        XCTAssertTrue(HubFilePatterns.matches("onnx/model.safetensors", "*.safetensors"))
        XCTAssertTrue(HubFilePatterns.matches("model-00001-of-00002.safetensors", "model-0000[0-9]-of-*.safetensors"))
        XCTAssertFalse(HubFilePatterns.matches("model.bin", "*.safetensors"))
        XCTAssertTrue(HubFilePatterns.matches("a/b.txt", "a/"))
        XCTAssertTrue(HubFilePatterns.matches("x1", "x[!a-c]"))
        XCTAssertFalse(HubFilePatterns.matches("xb", "x[!a-c]"))
        XCTAssertTrue(HubFilePatterns.matches("config.json", "config.jso?"))
        // Default model files: safetensors wins over pytorch_model.bin; other formats are left out.
        let gpt2 = ["config.json", "generation_config.json", "model.safetensors", "pytorch_model.bin", "flax_model.msgpack",
                    "tf_model.h5", "vocab.json", "merges.txt", "tokenizer.json", "onnx/decoder_model.onnx", "64-8bits.tflite", "README.md"]
        XCTAssertEqual(HubFilePatterns.defaultModelFiles(gpt2),
                       ["config.json", "generation_config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer.json"])
        XCTAssertEqual(HubFilePatterns.defaultModelFiles(["config.json", "pytorch_model.bin", "vocab.json"]),
                       ["config.json", "pytorch_model.bin", "vocab.json"])
        XCTAssertEqual(HubFilePatterns.defaultModelFiles(["config.json", "model-00001-of-00002.safetensors",
                                                           "model-00002-of-00002.safetensors", "model.safetensors.index.json"]).count, 4)
        XCTAssertEqual(HubProtocol.quote("refs/pr/1", keepSlash: false), "refs%2Fpr%2F1")
        XCTAssertEqual(HubProtocol.quote("a b/c.json", keepSlash: true), "a%20b/c.json")
    }

    func testStreamingSHA256MatchesOneShot() throws {
        XCTAssertEqual(SHA256Digest.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Digest.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let model = Fixtures.url("hub_layout_tiny/model.safetensors")
        let bytes = try Data(contentsOf: model)
        var hasher = SHA256Hasher()
        var at = 0
        for size in [1, 63, 64, 65, 1000, 7] where at < bytes.count {
            hasher.update(bytes[at..<min(bytes.count, at + size)])
            at += size
        }
        hasher.update(bytes[at...])
        XCTAssertEqual(hasher.finalizeHex(), "68b66db0bd8df22cb7c12a430f20285b8e48d4d6f2ad33cb900527744e30cf18")
        XCTAssertEqual(try HubBlobDownload.sha256(of: model), "68b66db0bd8df22cb7c12a430f20285b8e48d4d6f2ad33cb900527744e30cf18")
    }
}

/// Collects progress reports from the client's background queue.
private final class ReportLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [HubProgress] = []
    func append(_ p: HubProgress) { lock.withLock { reports.append(p) } }
    var all: [HubProgress] { lock.withLock { reports } }
}

private extension HubClient {
    /// The error of a `HEAD` on one file, or nil when it succeeds.
    func fileMetadataError(repoId: String, commit: String, filename: String) async throws -> HubError? {
        do {
            _ = try await fileMetadata(repoId: repoId, commit: commit, filename: filename)
            return nil
        } catch let error as HubError {
            return error
        }
    }
}
