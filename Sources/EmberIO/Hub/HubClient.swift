import Foundation

/// A Hugging Face Hub client that downloads a model repository into the Hugging Face cache, in the layout
/// `huggingface_hub` uses (see ``HubCacheRepo``), so that Ember and Python (`transformers`,
/// `huggingface_hub`) share downloaded files in both directions.
///
/// ```swift
/// let dir = try await HubClient().snapshot(repoId: "openai-community/gpt2")
/// // dir = ~/.cache/huggingface/hub/models--openai-community--gpt2/snapshots/<commit>
/// ```
/// Settings come from the environment as in `huggingface_hub`: `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`,
/// `HF_HUB_CACHE`, `HF_HUB_OFFLINE` (see ``HubSettings``). A snapshot call lists the revision's files
/// (`GET /api/models/{repo}/revision/{revision}`), skips those already linked in the snapshot, asks the Hub
/// for each other file's etag, size and commit (`HEAD` on its resolve URL), and downloads the missing
/// blobs with ``HubBlobDownload``, which verifies size and sha256 before a file appears in the snapshot.
/// Source of the protocol and layout: `huggingface_hub/file_download.py` and `_snapshot_download.py`
/// (https://github.com/huggingface/huggingface_hub).
public struct HubClient: Sendable {
    /// Endpoint, token, offline mode and cache directory.
    public var settings: HubSettings
    /// HTTP transport (timeouts).
    var http = HubHTTP()
    /// How many times a cut transfer that made progress is resumed (HTTP `Range`) within one call.
    var resumeAttempts = 5

    /// A client configured from `environment` (by default the process's); see ``HubSettings``.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        settings = HubSettings(environment: environment)
    }

    /// True when `s` reads as a Hub repository id (`NAME` or `ORG/NAME`: letters, digits, `-`, `_`, `.`,
    /// no `--` or `..`, each part starting and ending with a letter, digit or `_`, at most 96 characters,
    /// as `huggingface_hub`'s `validate_repo_id`) and not as a local file: it is not an existing path and
    /// does not end in a weights or config file extension (`.pth`, `.pt`, `.bin`, `.safetensors`, `.json`,
    /// `.ckpt`).
    public static func looksLikeRepoId(_ s: String) -> Bool {
        guard isValidRepoId(s), !FileManager.default.fileExists(atPath: s) else { return false }
        let lower = s.lowercased()
        return ![".pth", ".pt", ".bin", ".safetensors", ".json", ".ckpt"].contains { lower.hasSuffix($0) }
    }

    /// The repository-id grammar of ``looksLikeRepoId(_:)`` without the file checks.
    static func isValidRepoId(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !s.contains("--"), !s.contains("..") else { return false }
        func word(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        return parts.allSatisfy { part in
            guard let first = part.first, let last = part.last, part.count <= 96, word(first), word(last) else { return false }
            return part.allSatisfy { word($0) || $0 == "-" || $0 == "." }
        }
    }

    /// Downloads (or finds in the cache) the files of `repoId` at `revision` and returns the snapshot
    /// directory, `<cache>/models--ORG--NAME/snapshots/<commit>`, whose entries link to verified blobs.
    ///
    /// - Parameters:
    ///   - repoId: `ORG/NAME` or `NAME`, e.g. `openai-community/gpt2`.
    ///   - revision: a branch, tag or 40-digit commit sha (default `main`); a branch or tag is recorded in
    ///     `refs/<revision>`.
    ///   - include: `fnmatch` globs of the files to fetch (`["*.json", "model.safetensors"]`); a pattern
    ///     without glob characters must name an existing file. Nil: the files a GPT-style model needs
    ///     (``HubFilePatterns/defaultModelFiles(_:)``): config, safetensors weights (`pytorch_model.bin`
    ///     only when there is no safetensors file) and tokenizer files.
    ///   - progress: called with ``HubProgress`` reports from a background queue.
    /// - Returns: the snapshot directory.
    /// - Throws: ``HubError``: `.invalidRepoId`; `.unauthorized` (401/403, gated or private: set
    ///   `HF_TOKEN`); `.repoNotFound`, `.revisionNotFound`, `.entryNotFound` (404 by `X-Error-Code`, or a
    ///   requested file not in the listing); `.networkUnavailable` (no answer and not cached);
    ///   `.notCached` (`HF_HUB_OFFLINE` and not in the cache); `.checksumMismatch` (the bad file is
    ///   removed); `.badResponse`; `.writeFailed`.
    public func snapshot(repoId: String, revision: String = "main", include: [String]? = nil,
                         progress: HubProgressHandler? = nil) async throws -> URL {
        guard Self.isValidRepoId(repoId) else {
            throw HubError(.invalidRepoId, "not a Hub repository id (expected NAME or ORG/NAME)", repoId: repoId)
        }
        guard Self.isSafeRelativePath(revision) else {
            throw HubError(.revisionNotFound, "\"\(revision)\" is not a usable revision name", repoId: repoId)
        }
        let cache = HubCacheRepo(cacheDirectory: settings.cacheDirectory, repoId: repoId)
        if settings.offline {
            if let dir = cachedSnapshot(cache, revision: revision, include: include) { return dir }
            throw HubError(.notCached, "HF_HUB_OFFLINE is set and revision \"\(revision)\"\(include.map { " with \($0)" } ?? "") is not in the cache at \(cache.folder.path); unset HF_HUB_OFFLINE to download it",
                           repoId: repoId)
        }

        let listing: HubProtocol.Listing
        do {
            listing = try await list(repoId: repoId, revision: revision)
        } catch let error as HubError where error.kind == .networkUnavailable {
            // As huggingface_hub: without an answer, a complete cached snapshot of the revision is used.
            if let dir = cachedSnapshot(cache, revision: revision, include: include) { return dir }
            throw error
        }
        let files = try selectFiles(listing, include: include, repoId: repoId, revision: revision)
        let commit = listing.sha
        try cache.writeRef(revision, commit: commit)

        var cached: [String] = []
        var plans: [(filename: String, metadata: HubProtocol.FileMetadata)] = []
        for filename in files {
            if cache.hasFile(commit: commit, filename: filename) { cached.append(filename); continue }
            let metadata = try await fileMetadata(repoId: repoId, commit: commit, filename: filename)
            if FileManager.default.fileExists(atPath: cache.blob(metadata.etag).path) {
                try cache.link(commit: commit, filename: filename, etag: metadata.etag)
                cached.append(filename)
            } else {
                plans.append((filename, metadata))
            }
        }
        let meter = HubProgressMeter(totalBytes: plans.reduce(0) { $0 + $1.metadata.size }, handler: progress)
        for filename in cached {
            meter.report(filename, .cached, fileDone: 0, fileBytes: 0)
        }
        for (filename, metadata) in plans {
            let download = HubBlobDownload(http: http, cache: cache, filename: filename, metadata: metadata, headers: headers,
                                           hubURL: URL(string: settings.endpoint) ?? metadata.downloadURL,
                                           resumeAttempts: resumeAttempts, meter: meter)
            try await download.run()
            try cache.link(commit: commit, filename: filename, etag: metadata.etag)
            meter.report(filename, .finished, fileDone: metadata.size, fileBytes: metadata.size)
        }
        return cache.snapshot(commit)
    }

    /// `Authorization: Bearer $HF_TOKEN` when a token is set.
    var headers: [String: String] {
        var h = ["User-Agent": "ember"]
        if let token = settings.token { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// The revision's commit and file names (`GET /api/models/{repo}/revision/{revision}`).
    func list(repoId: String, revision: String) async throws -> HubProtocol.Listing {
        guard let url = HubProtocol.listingURL(endpoint: settings.endpoint, repoId: repoId, revision: revision) else {
            throw HubError(.invalidRepoId, "cannot build a URL from HF_ENDPOINT=\(settings.endpoint)", repoId: repoId)
        }
        let sink = HubMemorySink()
        let answer: (response: HubHTTPResponse, errorBody: Data)
        do { answer = try await http.send("GET", url, headers: headers, followRedirects: true, sink: sink) } catch {
            throw HubProtocol.networkError(error, url: url, repoId: repoId, filename: nil)
        }
        guard (200..<300).contains(answer.response.status) else {
            throw HubProtocol.error(answer.response, body: answer.errorBody, repoId: repoId, revision: revision, filename: nil,
                                    endpoint: settings.endpoint, tokenSent: settings.token != nil)
        }
        return try HubProtocol.listing(sink.data, repoId: repoId)
    }

    /// The etag, size, commit and download URL of one file (`HEAD` on its resolve URL at `commit`).
    func fileMetadata(repoId: String, commit: String, filename: String) async throws -> HubProtocol.FileMetadata {
        guard let url = HubProtocol.resolveURL(endpoint: settings.endpoint, repoId: repoId, revision: commit, filename: filename) else {
            throw HubError(.invalidRepoId, "cannot build a URL from HF_ENDPOINT=\(settings.endpoint)", repoId: repoId, filename: filename)
        }
        let answer: (response: HubHTTPResponse, errorBody: Data)
        do { answer = try await http.send("HEAD", url, headers: headers, followRedirects: false) } catch {
            throw HubProtocol.networkError(error, url: url, repoId: repoId, filename: filename)
        }
        guard (200..<400).contains(answer.response.status) else {
            throw HubProtocol.error(answer.response, body: answer.errorBody, repoId: repoId, revision: commit, filename: filename,
                                    endpoint: settings.endpoint, tokenSent: settings.token != nil)
        }
        return try HubProtocol.metadata(answer.response, requested: url, repoId: repoId, filename: filename)
    }

    /// The listing's files that `include` selects (or the default model files), each a safe relative path.
    func selectFiles(_ listing: HubProtocol.Listing, include: [String]?, repoId: String, revision: String) throws -> [String] {
        let all = listing.siblings.map(\.rfilename)
        if let bad = all.first(where: { !Self.isSafeRelativePath($0) }) {
            throw HubError(.badResponse, "the listing names a file outside the repository: \"\(bad)\"", repoId: repoId)
        }
        guard let include else {
            let files = HubFilePatterns.defaultModelFiles(all)
            guard !files.isEmpty else {
                throw HubError(.entryNotFound, "revision \"\(revision)\" has no model files (config.json, *.safetensors, pytorch_model.bin); name files with include patterns",
                               repoId: repoId)
            }
            return files
        }
        for pattern in include where HubFilePatterns.isLiteral(pattern) && !all.contains(pattern) {
            throw HubError(.entryNotFound, "file not found in revision \"\(revision)\"", repoId: repoId, filename: pattern)
        }
        let files = HubFilePatterns.select(all, include: include)
        guard !files.isEmpty else {
            throw HubError(.entryNotFound, "no file of revision \"\(revision)\" matches \(include)", repoId: repoId)
        }
        return files
    }

    /// The cached snapshot of `revision` when it holds what `include` asks for (every literal file, at least
    /// one match per selection); nil otherwise.
    func cachedSnapshot(_ cache: HubCacheRepo, revision: String, include: [String]?) -> URL? {
        guard let commit = cache.cachedCommit(for: revision) else { return nil }
        let dir = cache.snapshot(commit)
        guard let entries = try? FileManager.default.subpathsOfDirectory(atPath: dir.path) else { return nil }
        let present = entries.filter { cache.hasFile(commit: commit, filename: $0) }.sorted()
        if let include {
            let literalsPresent = include.filter(HubFilePatterns.isLiteral).allSatisfy(present.contains)
            return literalsPresent && !HubFilePatterns.select(present, include: include).isEmpty ? dir : nil
        }
        return HubFilePatterns.defaultModelFiles(present).isEmpty ? nil : dir
    }

    /// A relative path with no empty, `.` or `..` component (it stays inside the folder it is joined to).
    static func isSafeRelativePath(_ s: String) -> Bool {
        guard !s.isEmpty, !s.hasPrefix("/"), !s.contains("\\"), !s.contains("\0") else { return false }
        return s.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }
}
