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
    /// Kept open so ``checkUnchanged()`` can ask whether the file shrank under the mapping.
    private let fd: Int32

    /// Maps `path`. An empty file maps to an empty buffer.
    /// - Throws: ``EmberIOError/Kind/fileUnreadable`` if it cannot be opened or mapped, or is not a
    ///   regular file (FIFOs, devices and directories are refused without blocking on them).
    init(path: String) throws {
        self.path = path
        let fd = try RegularFile.open(path)
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw EmberIOError(.fileUnreadable, "cannot read: \(String(cString: strerror(errno)))", file: path)
        }
        count = Int(info.st_size)
        if count == 0 { base = nil; self.fd = fd; return }
        let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            close(fd)
            throw EmberIOError(.fileUnreadable, "cannot map: \(String(cString: strerror(errno)))", file: path)
        }
        base = UnsafeRawPointer(p)
        self.fd = fd
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
        close(fd)
    }

    /// Throws when the file is now shorter than when it was mapped (truncated by another process while
    /// being read): pages past the new end would fault (SIGBUS) on the next access, so a load checks
    /// this after reading and before handing out anything that borrows the mapping.
    /// - Throws: ``EmberIOError/Kind/truncated``.
    func checkUnchanged() throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return }
        guard Int(info.st_size) >= count else {
            throw EmberIOError(.truncated,
                "the file shrank from \(count) to \(info.st_size) bytes while it was being read (changed by another program?)",
                file: path)
        }
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
