import Foundation

/// Reuses large CPU blocks instead of returning them to the system, as PyTorch's caching
/// allocators do: a training step allocates the same sizes every iteration, and fresh pages cost a
/// page fault each on first touch (a 100 MB softmax output spent more time faulting than computing).
///
/// Blocks of at least 64 KiB are kept per exact (page-rounded) size, up to `limit` bytes in all;
/// smaller ones go straight to malloc, which already recycles them.
///
/// The cache never makes the process hold much more than the most memory its tensors have needed
/// at once. On a miss that sets a new peak of live bytes (the first training steps, when AdamW's
/// state appears), cached blocks beyond 1/16 of that peak go back to the system; on any other miss,
/// they go back (largest first) when live + cached would exceed 1.5 × the peak. Without the rule
/// the first GPT-124M training step held its freed activations while AdamW allocated its state
/// (peak RSS 3711 MiB; 2715 MiB with it; PyTorch 3267–3669 MiB). The 1.5× room matters: with
/// none, blocks of one size were freed for another every step (2.50 → 2.76 s per step).
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
    /// Cached blocks may add up to half the peak of live bytes (see above).
    static let slackDivisor = 2
    /// Bytes of blocks ≥ `minimumCached` handed out and not yet returned, and the most ever at once.
    nonisolated(unsafe) static var liveBytes = 0
    nonisolated(unsafe) static var peakLiveBytes = 0
    static let lock = NSLock()

    static func roundedSize(_ n: Int) -> Int { n < minimumCached ? n : (n + 4095) & ~4095 }

    static func allocate(_ byteCount: Int) -> UnsafeMutableRawPointer {
        let size = roundedSize(byteCount)
        if size >= minimumCached {
            lock.lock()
            liveBytes += size
            if var list = free[size], let p = list.popLast() {
                free[size] = list
                cachedBytes -= size
                lock.unlock()
                return p
            }
            if liveBytes > peakLiveBytes {
                // A new high-water mark (the first steps: AdamW's state appears): the cached blocks
                // are not what the growth needs, so keep only a little of them.
                peakLiveBytes = liveBytes
                if cachedBytes > peakLiveBytes / 16 { releaseLargestLocked(until: peakLiveBytes / 16) }
            } else {
                let cap = peakLiveBytes + peakLiveBytes / slackDivisor
                if cachedBytes > 0 && liveBytes + cachedBytes > cap {
                    releaseLargestLocked(until: cap - liveBytes)
                }
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    }

    static func deallocate(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        let size = roundedSize(byteCount)
        if size >= minimumCached {
            lock.lock()
            liveBytes -= size
            lock.unlock()
        }
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

    /// Starts the peak of live bytes afresh from the bytes live now (for tests and benchmarks, as
    /// `torch.cuda.reset_peak_memory_stats()`).
    static func resetPeakLive() {
        lock.lock(); peakLiveBytes = liveBytes; lock.unlock()
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
