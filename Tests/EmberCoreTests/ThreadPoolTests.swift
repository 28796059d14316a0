import Foundation
import Synchronization
import XCTest
@testable import EmberCore

/// Ember's worker threads (ThreadPool.swift): every iteration runs exactly once, on up to
/// `Threads.count` threads; nested and concurrent calls run serially instead of deadlocking; the
/// pool follows changes of `Threads.count`; and workers that went to sleep wake for the next job.
final class ThreadPoolTests: XCTestCase {
    private func counts(_ n: Int, _ run: (Int, (Int) -> Void) -> Void) -> [Int] {
        let hits = Mutex([Int](repeating: 0, count: n))
        run(n) { i in hits.withLock { $0[i] += 1 } }
        return hits.withLock { $0 }
    }

    func testEveryIterationRunsExactlyOnce() {
        for n in [0, 1, 2, 3, 7, 64, 1000] {
            for _ in 0..<50 {
                let c = counts(n) { n, body in Threads.concurrentPerform(iterations: n, body) }
                XCTAssertEqual(c, [Int](repeating: 1, count: n), "n = \(n)")
            }
        }
    }

    func testUsesMoreThanOneThreadWhenAvailable() throws {
        try XCTSkipIf(ProcessInfo.processInfo.activeProcessorCount < 2, "one CPU: the pool runs serially")
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        let ids = Mutex<Set<UInt64>>([])
        for _ in 0..<20 {
            Threads.concurrentPerform(iterations: 2) { _ in
                let id = UInt64(pthread_self())
                ids.withLock { _ = $0.insert(id) }
                usleep(2_000)                 // long enough that one thread cannot take both
            }
        }
        XCTAssertEqual(ids.withLock { $0.count }, 2)
    }

    /// A parallel op inside a chunk (and a second thread calling meanwhile) runs serially.
    func testNestedAndConcurrentCallsComplete() {
        let total = Atomic<Int>(0)
        Threads.concurrentPerform(iterations: 4) { _ in
            Threads.concurrentPerform(iterations: 10) { _ in total.add(1, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 40)

        let done = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                for _ in 0..<200 {
                    Threads.concurrentPerform(iterations: 8) { _ in done.add(1, ordering: .relaxed) }
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "concurrent callers deadlocked")
        XCTAssertEqual(done.load(ordering: .relaxed), 4 * 200 * 8)
    }

    /// More threads than before start new workers; fewer use a subset; results stay exact.
    func testFollowsThreadCount() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for t in [1, 4, 3, 1, 2] {
            Threads.count = t
            XCTAssertEqual(counts(37) { n, body in Threads.concurrentPerform(iterations: n, body) },
                           [Int](repeating: 1, count: 37), "threads = \(t)")
        }
    }

    /// After the spin window the workers block; the next job must wake them.
    func testWorkersWakeAfterSleeping() {
        for _ in 0..<3 {
            usleep(UInt32(ThreadPool.spinDuration / 1000) * 3)
            XCTAssertEqual(counts(16) { n, body in Threads.concurrentPerform(iterations: n, body) },
                           [Int](repeating: 1, count: 16))
        }
    }

    /// A tensor op large enough to be split (parallelFor) equals its serial result.
    func testParallelOpMatchesSerial() {
        manualSeed(3)
        let x = Tensor.randn([1 << 18])
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 1
        let serial = (x * 2 + 1).exp().toFloats()
        Threads.count = 2
        XCTAssertEqual((x * 2 + 1).exp().toFloats(), serial)
    }
}
