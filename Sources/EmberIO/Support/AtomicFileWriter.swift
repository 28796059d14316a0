import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A sequential writer over a file descriptor that counts the bytes written (zip offsets need it).
public struct FileSink {
    let fd: Int32
    let path: String
    /// Bytes written so far.
    public private(set) var offset = 0
    private var buffer = Data()

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Appends `data` (small writes are buffered; large ones go straight to the file).
    public mutating func write(_ data: Data) throws {
        if data.count >= 1 << 16 {
            try flush()
            try writeAll(data)
        } else {
            buffer.append(data)
            if buffer.count >= 1 << 20 { try flush() }
        }
        offset += data.count
    }

    public mutating func write(_ bytes: [UInt8]) throws { try write(Data(bytes)) }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw EmberIOError(.writeFailed, "write failed: \(String(cString: strerror(errno)))", file: path)
                }
                done += n
            }
        }
    }
}

/// Writes a file atomically: into a temporary file in the same directory, `fsync`, then `rename` over the
/// destination (and `fsync` of the directory). If anything fails the temporary file is removed and an
/// earlier file at the destination is left untouched, so an interrupted save never leaves a truncated
/// checkpoint behind (bug case B13, docs/cases.md). A save killed before it could clean up (SIGKILL,
/// power loss) leaves its `.NAME.tmp-XXXXXX`; the next save to the same path removes every such file
/// that no live writer holds (each writer keeps an `flock` on its temporary file until it is done).
public enum AtomicFileWriter {
    /// Removes `.NAME.tmp-XXXXXX` files left beside `url` by interrupted saves: regular files whose
    /// `flock` can be taken (no writer holds them), other than `keeping`.
    /// - Returns: the paths removed.
    @discardableResult
    public static func removeStaleTemporaries(for url: URL, keeping: String? = nil) -> [String] {
        let directory = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) && name.count == prefix.count + 6 {
            let path = directory + "/" + name
            guard path != keeping else { continue }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == getuid(),
                  flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }

    /// Calls `body` with a sink on a temporary file and moves the result to `url` when it returns.
    /// - Throws: ``EmberIOError/Kind/writeFailed`` for I/O failures, or whatever `body` throws (the
    ///   destination is then unchanged).
    public static func write(to url: URL, _ body: (inout FileSink) throws -> Void) throws {
        let directory = url.deletingLastPathComponent().path
        var template = Array("\(directory)/.\(url.lastPathComponent).tmp-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            throw EmberIOError(.writeFailed, "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))",
                               file: url.path)
        }
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // Held while writing: it tells a later save that this temporary file is still in use.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        removeStaleTemporaries(for: url, keeping: tempPath)
        var committed = false
        defer {
            if !committed { unlink(tempPath) }
        }
        do {
            var sink = FileSink(fd: fd, path: url.path)
            try body(&sink)
            try sink.flush()
            guard fchmod(fd, 0o644) == 0, fsync(fd) == 0 else {
                throw EmberIOError(.writeFailed, "cannot flush to disk: \(String(cString: strerror(errno)))", file: url.path)
            }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rename(tempPath, url.path) == 0 else {
            throw EmberIOError(.writeFailed, "cannot move the new file into place: \(String(cString: strerror(errno)))",
                               file: url.path)
        }
        committed = true
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }
}

private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}
