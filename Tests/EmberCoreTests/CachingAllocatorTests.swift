import XCTest
@testable import EmberCore

/// The CPU caching allocator (CachingAllocator.swift): freed blocks are reused by exact size; a
/// miss never lets live + cached bytes grow past 1.5 × the peak of live bytes, and a miss that sets
/// a new peak keeps at most 1/16 of it cached.
final class CachingAllocatorTests: XCTestCase {
    typealias A = CachingAllocator

    func testFreedBlockIsReusedForTheSameSize() {
        let p = A.allocate(1 << 20)
        A.deallocate(p, byteCount: 1 << 20)
        let q = A.allocate(1 << 20)
        XCTAssertEqual(p, q, "a freed 1 MiB block should serve the next 1 MiB request")
        A.deallocate(q, byteCount: 1 << 20)
    }

    func testMissReleasesCachedBlocksAboveTheCap() {
        emptyCache()
        // Count from zero: other tests' live tensors (models kept for reuse) would set the cap.
        A.lock.lock(); let saved = (A.liveBytes, A.peakLiveBytes); A.liveBytes = 0; A.peakLiveBytes = 0; A.lock.unlock()
        defer { A.lock.lock(); A.liveBytes += saved.0; A.peakLiveBytes = Swift.max(A.peakLiveBytes, saved.1); A.lock.unlock() }
        let unit = 16 << 20
        let blocks = (0..<4).map { _ in A.allocate(unit) }
        for b in blocks { A.deallocate(b, byteCount: unit) }
        A.lock.lock(); let cachedBefore = A.cachedBytes; let peak = A.peakLiveBytes; A.lock.unlock()
        XCTAssertEqual(cachedBefore, 4 * unit)
        XCTAssertEqual(peak, 4 * unit)
        // Another size: a miss; live + cached would be 7·unit > 1.5 · 4·unit.
        let other = 3 * unit + 4096
        let p = A.allocate(other)
        A.lock.lock(); let live = A.liveBytes, cached = A.cachedBytes; A.lock.unlock()
        XCTAssertEqual(live, other)
        XCTAssertLessThan(cached, cachedBefore, "cached blocks should have been released")
        XCTAssertLessThanOrEqual(live + cached, peak + peak / A.slackDivisor)
        // Within the cap nothing is released: the same 16 MiB size hits the cache.
        let q = A.allocate(unit)
        A.lock.lock(); XCTAssertEqual(A.cachedBytes, cached - unit); A.lock.unlock()
        A.deallocate(q, byteCount: unit)
        A.deallocate(p, byteCount: other)
        // A new peak (5·unit live after 4·unit): the cached blocks shrink to ≤ 1/16 of it.
        A.lock.lock(); XCTAssertGreaterThan(A.cachedBytes, 5 * unit / 16); A.lock.unlock()
        let big = A.allocate(5 * unit)
        A.lock.lock(); XCTAssertLessThanOrEqual(A.cachedBytes, A.peakLiveBytes / 16); XCTAssertEqual(A.peakLiveBytes, 5 * unit); A.lock.unlock()
        A.deallocate(big, byteCount: 5 * unit)
        emptyCache()
    }
}
