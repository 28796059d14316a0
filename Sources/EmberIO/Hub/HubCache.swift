import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One model repository's folder in the Hugging Face cache, laid out exactly as `huggingface_hub` writes it
/// so that files downloaded by either side are found by the other:
///
/// ```
/// <cache>/models--ORG--NAME/
///     blobs/<etag>                      the file's bytes (etag = sha256 for LFS files, git sha1 otherwise)
///     blobs/<etag>.incomplete           a transfer in progress (never read as the file)
///     refs/<revision>                   the commit sha that a branch or tag last resolved to
///     snapshots/<commit>/<filename>     a relative symlink to ../../blobs/<etag> (deeper for a/b/c)
/// ```
/// and `<cache>/.locks/models--ORG--NAME/<etag>.lock` to keep two processes off one blob.
/// Source: `huggingface_hub/file_download.py` (`repo_folder_name`, `_create_symlink`,
/// `_cache_commit_hash_for_specific_revision`, `_get_pointer_path`) and
/// https://huggingface.co/docs/huggingface_hub/guides/manage-cache.
struct HubCacheRepo {
    let repoId: String
    /// `<cache>/models--ORG--NAME`.
    let folder: URL
    /// `<cache>/.locks/models--ORG--NAME`.
    let locks: URL

    init(cacheDirectory: URL, repoId: String) {
        self.repoId = repoId
        let name = (["models"] + repoId.split(separator: "/").map(String.init)).joined(separator: "--")
        folder = cacheDirectory.appendingPathComponent(name, isDirectory: true)
        locks = cacheDirectory.appendingPathComponent(".locks", isDirectory: true).appendingPathComponent(name, isDirectory: true)
    }

    /// A full 40-hex-digit commit sha (`REGEX_COMMIT_HASH`).
    static func isCommitHash(_ s: String) -> Bool {
        s.utf8.count == 40 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    func blob(_ etag: String) -> URL { folder.appendingPathComponent("blobs/\(etag)") }
    func incompleteBlob(_ etag: String) -> URL { folder.appendingPathComponent("blobs/\(etag).incomplete") }
    func snapshot(_ commit: String) -> URL { folder.appendingPathComponent("snapshots/\(commit)", isDirectory: true) }
    func pointer(commit: String, filename: String) -> URL { snapshot(commit).appendingPathComponent(filename) }
    func ref(_ revision: String) -> URL { folder.appendingPathComponent("refs/\(revision)") }

    /// The commit `revision` names in the cache: itself when it is a commit sha, else the content of
    /// `refs/<revision>`; nil when the cache has no such ref.
    func cachedCommit(for revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        guard let text = try? String(contentsOf: ref(revision), encoding: .utf8) else { return nil }
        let sha = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return Self.isCommitHash(sha) ? sha : nil
    }

    /// Writes `refs/<revision>` = `commit` (temporary file then rename) unless `revision` is the commit
    /// itself or the ref already says so.
    func writeRef(_ revision: String, commit: String) throws {
        guard revision != commit else { return }
        let url = ref(revision)
        if (try? String(contentsOf: url, encoding: .utf8)) == commit { return }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFileWriter.write(to: url) { try $0.write(Data(commit.utf8)) }
        } catch {
            throw HubError(.writeFailed, "cannot write the ref \(url.path): \(error)", repoId: repoId)
        }
    }

    /// Links `snapshots/<commit>/<filename>` to `blobs/<etag>` with a relative symlink (`../../blobs/<etag>`,
    /// one more `../` per folder in `filename`), replacing a dangling or different link.
    func link(commit: String, filename: String, etag: String) throws {
        let pointer = pointer(commit: commit, filename: filename)
        let depth = filename.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/\(etag)"
        do {
            try FileManager.default.createDirectory(at: pointer.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path), existing == target { return }
            // Made under a temporary name then renamed over: a reader sees the old link or the new one.
            let temporary = pointer.deletingLastPathComponent().appendingPathComponent(".\(pointer.lastPathComponent).\(UUID().uuidString).tmp")
            guard symlink(target, temporary.path) == 0 else {
                throw HubError(.writeFailed, "cannot create the link \(temporary.path): \(String(cString: strerror(errno)))",
                               repoId: repoId, filename: filename)
            }
            guard rename(temporary.path, pointer.path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary.path)
                throw HubError(.writeFailed, "cannot link \(pointer.path): \(reason)", repoId: repoId, filename: filename)
            }
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError(.writeFailed, "cannot create \(pointer.deletingLastPathComponent().path): \(error)", repoId: repoId, filename: filename)
        }
    }

    /// Whether `snapshots/<commit>/<filename>` exists and leads to a file (a dangling link does not count).
    func hasFile(commit: String, filename: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: pointer(commit: commit, filename: filename).path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// An exclusive `flock` on a lock file (the lock `huggingface_hub` takes through `filelock`, which uses
/// `flock` on POSIX), released by ``release()``.
struct HubFileLock {
    private let fd: Int32

    /// Waits for the lock on `url`, creating the file and its folder if needed.
    init(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        fd = open(url.path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    }

    func release() {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
