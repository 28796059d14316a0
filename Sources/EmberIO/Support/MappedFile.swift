import EmberCore
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

/// Gives back the memory a tensor that borrows a memory-mapped file holds resident: the whole pages
/// inside its storage's bytes are dropped from the process (`madvise(MADV_DONTNEED)`), as if never read. A later
/// read maps them from the file again, so the values stay the same — unless they were written through
/// the tensor (a copy-on-write mapping), which this discards. Does nothing for tensors that own their
/// memory (not loaded with `mmap: true` / `mapped: true`) or on other devices.
///
/// For loaders that read a mapped tensor once to make a transformed copy (a transpose) and then drop
/// it: without this, the pages read stay resident beside the copy. Linux `madvise(2)`.
public func releaseMappedPages(of tensor: Tensor) {
    #if canImport(Glibc)
    let storage = tensor.storage
    guard tensor.device == .cpu, storage.owner is DataOwner, let base = storage.data else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = Int(bitPattern: base), end = start + storage.byteCount
    let first = (start + page - 1) / page * page, last = end / page * page
    guard last > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
    _ = madvise(p, last - first, MADV_DONTNEED)
    #endif
}
