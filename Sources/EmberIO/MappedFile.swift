import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A copy-on-write memory mapping of a whole file (`mmap(PROT_READ | PROT_WRITE, MAP_PRIVATE)`, as
/// `torch.load(mmap=True)`: tensors built on it may be written; the file never changes), unmapped when the last
/// reference (including any `Data` made by ``data(in:)``) goes away.
final class MappedFile: @unchecked Sendable {
    let path: String
    let base: UnsafeRawPointer?
    let count: Int

    /// Maps `path`. An empty file maps to an empty buffer.
    /// - Throws: ``EmberIOError/Kind/fileUnreadable`` if it cannot be opened or mapped.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw EmberIOError(.fileUnreadable, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw EmberIOError(.fileUnreadable, "not a regular file", file: path)
        }
        count = Int(info.st_size)
        if count == 0 { base = nil; return }
        let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw EmberIOError(.fileUnreadable, "cannot map: \(String(cString: strerror(errno)))", file: path)
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Bytes `range` of the file without copying; the returned `Data` keeps the mapping alive.
    func data(in range: Range<Int>) -> Data {
        guard let base, !range.isEmpty else { return Data() }
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base + range.lowerBound), count: range.count,
                    deallocator: .custom { [self] _, _ in withExtendedLifetime(self) {} })
    }
}
