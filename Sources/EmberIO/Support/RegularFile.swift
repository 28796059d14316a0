import Foundation
#if canImport(Glibc)
import Glibc
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Glibc.open(path, flags) }
private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { Glibc.read(fd, p, n) }
#elseif canImport(Darwin)
import Darwin
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Darwin.open(path, flags) }
private func systemRead(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { Darwin.read(fd, p, n) }
#endif

/// Opening files named by users without trusting what they are: only regular files are read. A FIFO
/// would block `open`/`read` forever, a device could stream without end, a directory has no bytes;
/// each is refused with a sentence saying what the path is. `open(2)` with `O_NONBLOCK` never waits
/// for a FIFO's writer; the flag is harmless for regular files.
public enum RegularFile {
    /// What kind of thing `mode` (`st_mode`) describes, in words ("a directory", "a named pipe (FIFO)").
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a named pipe (FIFO)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Opens `path` read-only after checking it is a regular file; the caller closes the descriptor.
    /// - Throws: ``EmberIOError/Kind/fileUnreadable`` with one sentence (no such file, permission
    ///   denied, "is a directory, not a file", …).
    static func open(_ path: String) throws -> Int32 {
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC
        let fd = systemOpen(path, flags)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno)).lowercased()
            throw EmberIOError(.fileUnreadable, "cannot open: \(reason)", file: path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            let what = kind(info.st_mode)
            close(fd)
            throw EmberIOError(.fileUnreadable, "is \(what), not a regular file", file: path)
        }
        return fd
    }

    /// The whole content of the regular file at `url`, at most `maxBytes` long.
    /// - Throws: ``EmberIOError/Kind/fileUnreadable`` (see ``open(_:)``) or ``EmberIOError/Kind/limitExceeded``
    ///   when the file is larger than `maxBytes`.
    public static func read(_ url: URL, maxBytes: Int) throws -> Data {
        let fd = try open(url.path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw EmberIOError(.fileUnreadable, "cannot read", file: url.path) }
        guard Int(info.st_size) <= maxBytes else {
            throw EmberIOError(.limitExceeded, "\(info.st_size) bytes, more than the \(maxBytes) this file may have", file: url.path)
        }
        var data = Data(count: Int(info.st_size))
        var done = 0
        let total = data.count
        try data.withUnsafeMutableBytes { buf in
            while done < total {
                let n = systemRead(fd, buf.baseAddress! + done, total - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    if n == 0 { break }
                    throw EmberIOError(.fileUnreadable, "cannot read: \(String(cString: strerror(errno)))", file: url.path)
                }
                done += n
            }
        }
        if done < total { data.count = done } // shrank while read: what is there
        return data
    }

    /// Nil when `path` names a regular file that can be opened for reading, else the reason in one
    /// sentence without the path ("is a directory, not a regular file", "cannot open: no such file").
    public static func problem(_ path: String) -> String? {
        do { close(try open(path)); return nil } catch let e as EmberIOError { return e.message } catch { return "\(error)" }
    }
}
