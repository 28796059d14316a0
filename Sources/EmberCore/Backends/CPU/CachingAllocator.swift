import Foundation

/// Reuses large CPU blocks instead of returning them to the system, as PyTorch's caching
/// allocators do: a training step allocates the same sizes every iteration, and fresh pages cost a
/// page fault each on first touch (a 100 MB softmax output spent more time faulting than computing).
///
/// Blocks of at least 64 KiB are kept per exact (page-rounded) size, up to `limit` bytes in all;
/// smaller ones go straight to malloc, which already recycles them.
enum CachingAllocator {
    static let minimumCached = 1 << 16
    /// Total bytes kept for reuse (default a quarter of physical memory; `EMBER_CPU_CACHE_MB`
    /// overrides, 0 disables). A 124M-parameter training step keeps about 3 GB in flight.
    static let limit: Int = {
        if let s = ProcessInfo.processInfo.environment["EMBER_CPU_CACHE_MB"], let mb = Int(s) { return mb << 20 }
        return Int(ProcessInfo.processInfo.physicalMemory / 4)
    }()
    nonisolated(unsafe) static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) static var cachedBytes = 0
    static let lock = NSLock()

    static func roundedSize(_ n: Int) -> Int { n < minimumCached ? n : (n + 4095) & ~4095 }

    static func allocate(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let size = roundedSize(byteCount)
        if size >= minimumCached {
            lock.lock()
            if var list = free[size], let p = list.popLast() {
                free[size] = list
                cachedBytes -= size
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    static func deallocate(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        let size = roundedSize(byteCount)
        if size >= minimumCached && size <= limit {
            lock.lock()
            if cachedBytes + size > limit { releaseLargestLocked(until: limit - size) }
            free[size, default: []].append(p)
            cachedBytes += size
            lock.unlock()
            return
        }
        p.deallocate()
    }

    /// Frees cached blocks, largest first, until at most `target` bytes stay cached.
    static func releaseLargestLocked(until target: Int) {
        for size in free.keys.sorted(by: >) where cachedBytes > target {
            guard var list = free[size] else { continue }
            while cachedBytes > target, let p = list.popLast() { p.deallocate(); cachedBytes -= size }
            free[size] = list.isEmpty ? nil : list
        }
    }

    static func releaseAllLocked() {
        for (_, list) in free { for p in list { p.deallocate() } }
        free.removeAll()
        cachedBytes = 0
    }
}

/// Returns every cached CPU block to the system (`torch.cuda.empty_cache()`'s CPU counterpart).
public func emptyCache() {
    CachingAllocator.lock.lock()
    CachingAllocator.releaseAllLocked()
    CachingAllocator.lock.unlock()
}
