import Foundation

/// The Hub's HTTP protocol as `huggingface_hub` speaks it: the URLs, what a `HEAD` on a resolve URL
/// answers, the repository listing, and the meaning of error statuses.
/// Sources: `huggingface_hub/file_download.py` (`hf_hub_url`, `get_hf_file_metadata`, `_normalize_etag`),
/// `huggingface_hub/utils/_http.py` (`hf_raise_for_status`), https://huggingface.co/docs/hub/api.
enum HubProtocol {
    /// `{endpoint}/{repoId}/resolve/{revision}/{filename}`, with the revision percent-encoded whole and the
    /// filename with its `/` kept (Python's `quote(revision, safe="")`, `quote(filename)`).
    static func resolveURL(endpoint: String, repoId: String, revision: String, filename: String) -> URL? {
        URL(string: "\(endpoint)/\(repoId)/resolve/\(quote(revision, keepSlash: false))/\(quote(filename, keepSlash: true))")
    }

    /// `{endpoint}/api/models/{repoId}/revision/{revision}`: JSON with `sha` and `siblings[].rfilename`.
    static func listingURL(endpoint: String, repoId: String, revision: String) -> URL? {
        URL(string: "\(endpoint)/api/models/\(repoId)/revision/\(quote(revision, keepSlash: false))")
    }

    /// Percent-encodes all but `A-Z a-z 0-9 _ . - ~` (and `/` when `keepSlash`), as `urllib.parse.quote`.
    static func quote(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if (c.isASCII && (c.isLetter || c.isNumber)) || "_.-~".contains(c) || (keepSlash && c == "/") {
                out.append(c)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// What a `HEAD` on a resolve URL says about a file.
    struct FileMetadata: Equatable {
        /// `X-Repo-Commit`: the commit the revision resolved to.
        var commit: String
        /// `X-Linked-Etag` (LFS file: its sha256) or `ETag` (git file: its git sha1), without `W/` or quotes.
        var etag: String
        /// `X-Linked-Size`, or `Content-Length` when the answer is not a redirect.
        var size: Int64
        /// Where to `GET` the bytes: the `Location` of a redirect (the CDN) or the resolve URL itself.
        var downloadURL: URL

        /// The sha256 to check the bytes against: the etag when it is 64 hex digits (an LFS file).
        var sha256: String? {
            etag.utf8.count == 64 && etag.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) ? etag : nil
        }
    }

    /// Reads the file metadata from a `HEAD` answer (2xx or 3xx).
    /// - Throws: ``HubError/Kind/badResponse`` when a required header is missing (the endpoint is not a Hub).
    static func metadata(_ response: HubHTTPResponse, requested: URL, repoId: String, filename: String) throws -> FileMetadata {
        func bad(_ what: String) -> HubError {
            HubError(.badResponse, "the answer of \(requested.absoluteString) has no \(what); is HF_ENDPOINT a Hugging Face Hub?",
                     repoId: repoId, filename: filename)
        }
        guard let commit = response.header("X-Repo-Commit"), !commit.isEmpty else { throw bad("X-Repo-Commit header") }
        guard let rawEtag = response.header("X-Linked-Etag") ?? response.header("ETag") else { throw bad("ETag header") }
        var etag = Substring(rawEtag)
        if etag.hasPrefix("W/") { etag = etag.dropFirst(2) }
        let cleanEtag = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        // The etag becomes a file name in blobs/: refuse anything that could leave that folder.
        guard !cleanEtag.isEmpty, cleanEtag.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != 47 && $0 != 92 }), cleanEtag != "..", cleanEtag != "." else {
            throw bad("usable ETag (got \(rawEtag))")
        }
        let redirect = (300..<400).contains(response.status)
        guard let sizeText = response.header("X-Linked-Size") ?? (redirect ? nil : response.header("Content-Length")),
              let size = Int64(sizeText.trimmingCharacters(in: .whitespaces)), size >= 0 else { throw bad("file size (X-Linked-Size or Content-Length)") }
        var downloadURL = requested
        if redirect {
            guard let location = response.header("Location"), let target = URL(string: location, relativeTo: response.url) else {
                throw bad("Location header on its redirect")
            }
            downloadURL = target.absoluteURL
        }
        return FileMetadata(commit: commit, etag: cleanEtag, size: size, downloadURL: downloadURL)
    }

    /// The listing of `GET /api/models/{repoId}/revision/{revision}`.
    struct Listing: Decodable {
        struct Sibling: Decodable { var rfilename: String }
        var sha: String
        var siblings: [Sibling]
    }

    static func listing(_ data: Data, repoId: String) throws -> Listing {
        do {
            let listing = try JSONDecoder().decode(Listing.self, from: data)
            guard HubCacheRepo.isCommitHash(listing.sha) else {
                throw HubError(.badResponse, "the repository listing gives \"\(listing.sha)\" as the commit, not a 40-digit sha", repoId: repoId)
            }
            return listing
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(.badResponse, "the repository listing is not the Hub's JSON (\(error))", repoId: repoId)
        }
    }

    /// The error for a non-2xx/3xx answer. `X-Error-Code` decides first (as `hf_raise_for_status`), then the
    /// status; a bare 404 means the repository on a listing call and the file on a file call.
    static func error(_ response: HubHTTPResponse, body: Data, repoId: String, revision: String, filename: String?,
                      endpoint: String, tokenSent: Bool) -> HubError {
        let code = response.header("X-Error-Code")
        let serverMessage = response.header("X-Error-Message") ?? String(decoding: body.prefix(300), as: UTF8.self)
        let detail = serverMessage.isEmpty ? "" : " (the Hub says: \(serverMessage.trimmingCharacters(in: .whitespacesAndNewlines)))"
        let tokenHint = tokenSent
            ? "the token in HF_TOKEN was sent but does not give access"
            : "no token was sent: set HF_TOKEN to a token from https://huggingface.co/settings/tokens"
        let status = response.status
        let repoNotFound = HubError(.repoNotFound, "repository not found at \(endpoint); check the name, or if it is private or gated, \(tokenHint)\(detail)",
                                    repoId: repoId, filename: filename)
        switch (code, status) {
        case ("RevisionNotFound", _):
            return HubError(.revisionNotFound, "revision \"\(revision)\" not found at \(endpoint)\(detail)", repoId: repoId, filename: filename)
        case ("EntryNotFound", _):
            return HubError(.entryNotFound, "file not found in revision \"\(revision)\"\(detail)", repoId: repoId, filename: filename)
        case ("GatedRepo", _):
            return HubError(.unauthorized, "HTTP \(status): a gated repository; accept its conditions on its Hub page, and \(tokenHint)\(detail)",
                            repoId: repoId, filename: filename)
        case ("RepoNotFound", _):
            return repoNotFound
        case (nil, 404) where filename == nil:
            return repoNotFound
        case (_, 404):
            return HubError(.entryNotFound, "file not found in revision \"\(revision)\"\(detail)", repoId: repoId, filename: filename)
        case (_, 401), (_, 403):
            return HubError(.unauthorized, "HTTP \(status): a private or gated repository; \(tokenHint)\(detail)", repoId: repoId, filename: filename)
        default:
            return HubError(.badResponse, "HTTP \(status) from \(response.url.absoluteString)\(detail)", repoId: repoId, filename: filename)
        }
    }

    /// The error for a request that got no answer (connection refused, DNS, timeout, cut transfer).
    static func networkError(_ error: Error, url: URL, repoId: String, filename: String?) -> HubError {
        let reason = (error as NSError).localizedDescription
        return HubError(.networkUnavailable, "cannot reach \(url.scheme ?? "http")://\(url.host ?? "?")\(url.port.map { ":\($0)" } ?? ""): \(reason) (check the network, or set HF_HUB_OFFLINE=1 to use the cache)",
                        repoId: repoId, filename: filename)
    }
}
