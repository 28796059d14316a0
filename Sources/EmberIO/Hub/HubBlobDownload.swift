import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Downloads one blob into the cache: bytes go to `blobs/<etag>.incomplete` (resumed with an HTTP `Range`
/// request when an earlier transfer was cut), the size and, for an LFS file, the sha256 are checked, and
/// only then is the file renamed to `blobs/<etag>`. A failed check removes the `.incomplete` file. Nothing
/// half-written is ever at a path a reader takes. Source of the scheme: `huggingface_hub/file_download.py`
/// (`http_get`, `_download_to_tmp_and_move`); HTTP ranges: RFC 9110 §14.
struct HubBlobDownload {
    let http: HubHTTP
    let cache: HubCacheRepo
    let filename: String
    let metadata: HubProtocol.FileMetadata
    /// Headers for the request (`Authorization` is dropped when the download URL is on another host).
    let headers: [String: String]
    /// Host of the resolve URL, to tell a CDN from the Hub itself.
    let hubURL: URL
    /// How many times a transfer that was cut after making progress is resumed within this call.
    let resumeAttempts: Int
    let meter: HubProgressMeter

    /// Makes `blobs/<etag>` exist with verified content (no-op when it already does).
    func run() async throws {
        let blob = cache.blob(metadata.etag)
        let incomplete = cache.incompleteBlob(metadata.etag)
        do {
            try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw HubError(.writeFailed, "cannot create \(blob.deletingLastPathComponent().path): \(error)", repoId: cache.repoId, filename: filename)
        }
        let lock: HubFileLock
        do { lock = try HubFileLock(cache.locks.appendingPathComponent("\(metadata.etag).lock")) } catch {
            throw HubError(.writeFailed, "cannot take the lock in \(cache.locks.path): \(error)", repoId: cache.repoId, filename: filename)
        }
        defer { lock.release() }
        if FileManager.default.fileExists(atPath: blob.path) { return }

        var requestHeaders = headers
        if metadata.downloadURL.host != hubURL.host || metadata.downloadURL.port != hubURL.port {
            requestHeaders["Authorization"] = nil
        }
        var attemptsLeft = resumeAttempts
        var restartedAfter416 = false
        while true {
            var offset = fileSize(incomplete)
            if offset > metadata.size {
                unlink(incomplete.path)
                offset = 0
            }
            let sink: HubFileSink
            do { sink = try HubFileSink(url: incomplete, offset: offset, size: metadata.size, filename: filename, meter: meter) } catch {
                throw HubError(.writeFailed, "cannot write \(incomplete.path): \(error)", repoId: cache.repoId, filename: filename)
            }
            if offset == metadata.size {
                try finish(sink)
                break
            }
            var h = requestHeaders
            if offset > 0 { h["Range"] = "bytes=\(offset)-" }
            meter.report(filename, .started, fileDone: offset, fileBytes: metadata.size)
            do {
                let (response, body) = try await http.send("GET", metadata.downloadURL, headers: h, followRedirects: true, sink: sink)
                try finish(sink)
                if response.status == 416 && !restartedAfter416 {
                    // The server does not have the range: the partial file is not a prefix of this blob.
                    restartedAfter416 = true
                    unlink(incomplete.path)
                    continue
                }
                guard (200..<300).contains(response.status) else {
                    throw HubProtocol.error(response, body: body, repoId: cache.repoId, revision: metadata.commit, filename: filename,
                                            endpoint: hubURL.absoluteString, tokenSent: requestHeaders["Authorization"] != nil)
                }
                break
            } catch let error as HubError {
                try? sink.finish()
                throw error
            } catch {
                // What reached the disk is kept for the resume.
                try finish(sink)
                if let sinkError = error as? HubSinkError { throw sinkError.hubError(repoId: cache.repoId, filename: filename) }
                if let ioError = error as? EmberIOError { throw HubError(.writeFailed, ioError.description, repoId: cache.repoId, filename: filename) }
                if Task.isCancelled { throw CancellationError() }
                // A cut transfer that made progress is resumed from what reached the disk.
                if sink.received > 0 && attemptsLeft > 0 {
                    attemptsLeft -= 1
                    continue
                }
                throw HubProtocol.networkError(error, url: metadata.downloadURL, repoId: cache.repoId, filename: filename)
            }
        }
        try verify(incomplete)
        _ = chmod(incomplete.path, 0o644)
        guard rename(incomplete.path, blob.path) == 0 else {
            throw HubError(.writeFailed, "cannot move \(incomplete.path) into place: \(String(cString: strerror(errno)))",
                           repoId: cache.repoId, filename: filename)
        }
    }

    /// Closes `sink`, turning a failed last write into ``HubError/Kind/writeFailed``.
    private func finish(_ sink: HubFileSink) throws {
        do { try sink.finish() } catch {
            throw HubError(.writeFailed, "\(error)", repoId: cache.repoId, filename: filename)
        }
    }

    /// Checks the size and (for an LFS etag) the sha256 of the finished `.incomplete` file; removes it and
    /// throws ``HubError/Kind/checksumMismatch`` when either differs.
    private func verify(_ incomplete: URL) throws {
        let size = fileSize(incomplete)
        guard size == metadata.size else {
            unlink(incomplete.path)
            throw HubError(.checksumMismatch, "received \(size) bytes but the Hub announced \(metadata.size); the partial file was removed, run again",
                           repoId: cache.repoId, filename: filename)
        }
        guard let expected = metadata.sha256 else { return }
        let actual: String
        do { actual = try Self.sha256(of: incomplete) } catch {
            throw HubError(.writeFailed, "cannot read back \(incomplete.path): \(error)", repoId: cache.repoId, filename: filename)
        }
        guard actual == expected else {
            unlink(incomplete.path)
            throw HubError(.checksumMismatch, "sha256 of the received bytes is \(actual) but the Hub announced \(expected); the file was removed, run again",
                           repoId: cache.repoId, filename: filename)
        }
    }

    /// The sha256 of the file at `url`, read 4 MiB at a time.
    static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256Hasher()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hasher.finalizeHex()
    }

    private func fileSize(_ url: URL) -> Int64 {
        var st = stat()
        return stat(url.path, &st) == 0 ? Int64(st.st_size) : 0
    }
}

/// A failure of the file sink, turned into a ``HubError`` by the download.
enum HubSinkError: Error {
    case write(String)
    case badRange(String)

    func hubError(repoId: String, filename: String) -> HubError {
        switch self {
        case .write(let m): return HubError(.writeFailed, m, repoId: repoId, filename: filename)
        case .badRange(let m): return HubError(.badResponse, m, repoId: repoId, filename: filename)
        }
    }
}

/// Appends a response body to the `.incomplete` file: after `offset` bytes for a `206` that starts there,
/// from byte 0 for a `200` (a server that ignored the range), and refuses more bytes than the blob has.
final class HubFileSink: HubBodySink, @unchecked Sendable {
    private let fd: Int32
    private let path: String
    private let offset: Int64
    private let size: Int64
    private let filename: String
    private let meter: HubProgressMeter
    private var position: Int64 = 0
    /// Bytes received by this request.
    private(set) var received: Int64 = 0
    private var closed = false
    /// Buffered writes to `fd` (1 MiB at a time).
    private var file: FileSink

    init(url: URL, offset: Int64, size: Int64, filename: String, meter: HubProgressMeter) throws {
        fd = open(url.path, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        file = FileSink(fd: fd, path: url.path)
        path = url.path
        self.offset = offset
        self.size = size
        self.filename = filename
        self.meter = meter
    }

    func begin(_ response: HubHTTPResponse) throws {
        var start: Int64 = 0
        if response.status == 206 {
            // Content-Range: bytes START-END/TOTAL (RFC 9110 §14.4).
            let range = response.header("Content-Range") ?? ""
            let digits = range.drop(while: { !$0.isNumber }).prefix(while: { $0.isNumber })
            guard let first = Int64(digits), first == offset else {
                throw HubSinkError.badRange("asked for bytes from \(offset) but the server sent \"\(range)\"")
            }
            start = offset
        }
        try file.flush()
        guard ftruncate(fd, off_t(start)) == 0, lseek(fd, off_t(start), SEEK_SET) == start else {
            throw HubSinkError.write("cannot prepare \(path): \(String(cString: strerror(errno)))")
        }
        position = start
    }

    func write(_ data: Data) throws {
        guard position + Int64(data.count) <= size else {
            throw HubSinkError.badRange("the server sent more than the \(size) bytes announced")
        }
        try file.write(data)
        position += Int64(data.count)
        received += Int64(data.count)
        meter.report(filename, .progress, fileDone: position, fileBytes: size, newBytes: Int64(data.count))
    }

    /// Writes what is buffered, flushes to disk and closes (idempotent); throws when the last write fails.
    func finish() throws {
        guard !closed else { return }
        closed = true
        defer { close(fd) }
        try file.flush()
        _ = fsync(fd)
    }

    deinit { try? finish() }
}
