import Foundation

/// An error from ``HubClient``: a download, a listing or a cache lookup that cannot be completed.
///
/// `kind` says what went wrong (tests and callers switch on it); `message` says it in words that name the
/// repository, the file and what to do (set `HF_TOKEN`, check the name, unset `HF_HUB_OFFLINE`). When a
/// download fails nothing is left where a reader would take it: the snapshot holds only verified files.
public struct HubError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// What class of problem was found.
    public enum Kind: String, Sendable {
        /// `repoId` is not `NAME` or `ORG/NAME` as the Hub spells them.
        case invalidRepoId
        /// HTTP 401 or 403: a private or gated repository, or a token without access.
        case unauthorized
        /// HTTP 404 with `X-Error-Code: RepoNotFound` (or no code on the listing call).
        case repoNotFound
        /// HTTP 404 with `X-Error-Code: RevisionNotFound`.
        case revisionNotFound
        /// HTTP 404 with `X-Error-Code: EntryNotFound`, or a requested file absent from the listing.
        case entryNotFound
        /// The endpoint could not be reached (no network, connection refused, DNS, timeout, cut transfer).
        case networkUnavailable
        /// `HF_HUB_OFFLINE` is set and the revision or file is not in the cache.
        case notCached
        /// The downloaded bytes' size or sha256 differ from what the Hub announced.
        case checksumMismatch
        /// The server answered something the Hub protocol does not allow (missing headers, bad JSON, 5xx).
        case badResponse
        /// The cache could not be written (permissions, disk full).
        case writeFailed
    }

    /// What class of problem was found.
    public let kind: Kind
    /// The problem in words.
    public let message: String
    /// The repository id, e.g. `openai-community/gpt2`.
    public var repoId: String
    /// The file inside the repository, when the error concerns one.
    public var filename: String?

    /// An error of `kind` about `repoId` (and `filename` when one file is concerned).
    public init(_ kind: Kind, _ message: String, repoId: String, filename: String? = nil) {
        self.kind = kind
        self.message = message
        self.repoId = repoId
        self.filename = filename
    }

    /// `repo/file: message`.
    public var description: String {
        let subject = filename.map { "\(repoId)/\($0)" } ?? repoId
        return "\(subject): \(message)"
    }

    /// Same as ``description``.
    public var errorDescription: String? { description }
}
