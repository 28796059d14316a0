import CEmberKernels
import Foundation
import Synchronization

/// The CPU backend's worker threads: `run(iterations:_:)` is `DispatchQueue.concurrentPerform`
/// with workers that stay awake between jobs.
///
/// Why not libdispatch: its workers go to sleep after each job, and waking them costs about 30 µs
/// on this kind of machine (measured: two 16 µs chunks took 46 µs through `concurrentPerform` vs
/// 33 µs run one after the other). The decode step of generation runs ~70 parallel products of
/// 20–100 µs each per token, so that wake-up was a tenth of a bfloat16 token. Here each worker
/// spins (with the CPU's pause hint) for ``spinDuration`` after a job before it blocks on a
/// condition variable, as OpenMP runtimes do with their spin count (`KMP_BLOCKTIME`,
/// `GOMP_SPINCOUNT`); a job that arrives in that window starts within a few hundred nanoseconds.
///
/// Participants are the calling thread plus up to `Threads.count − 1` workers; each takes the next
/// unclaimed iteration until none are left, so a participant that starts late or runs slower
/// (a worker waking up, a core shared with the host) takes fewer of them. A call made while a job is running (a nested parallel
/// op inside a chunk, or a second thread calling at the same time) runs its iterations serially on
/// the calling thread, so the pool never deadlocks and never runs two jobs at once.
@usableFromInline
final class ThreadPool: @unchecked Sendable {
    @usableFromInline static let shared = ThreadPool()
    /// How long an idle worker spins before it blocks (nanoseconds).
    static let spinDuration: UInt64 = 200_000

    /// `generation << 16 | participants`, published once per job; workers wait for it to change.
    private let state = Atomic<Int>(0)
    /// The next unclaimed iteration of the current job.
    private let next = Atomic<Int>(0)
    /// Workers that finished their part of the current job.
    private let finished = Atomic<Int>(0)
    /// Set while a job runs (a second caller then runs serially).
    private let busy = Atomic<Bool>(false)
    /// Workers blocked on the condition variable (the publisher only signals when some are).
    private let sleepers = Atomic<Int>(0)
    /// The current job and its iteration count: written before `state` is published, read by the
    /// participating workers, which the publisher waits for before the next write.
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    nonisolated(unsafe) private var iterations = 0
    private let condition = NSCondition()
    /// Workers started so far (grows when `Threads.count` grows; guarded by `condition`).
    nonisolated(unsafe) private var workerCount = 0

    /// Runs `body(i)` for every `i` in `0..<iterations`, spread over `Threads.count` threads
    /// (the caller included); returns when all have run.
    @usableFromInline
    func run(iterations n: Int, _ body: (Int) -> Void) {
        let participants = Swift.min(n, Threads.count)
        if participants <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<n { body(i) }
            return
        }
        ensureWorkers(participants - 1)
        withoutActuallyEscaping(body) { body in
            job = body
            iterations = n
            finished.store(0, ordering: .relaxed)
            next.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 16) &+ 1
            state.store(generation << 16 | participants, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock(); condition.broadcast(); condition.unlock()
            }
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= n { break }
                body(i)
            }
            var spins = 0
            while finished.load(ordering: .acquiring) < participants - 1 {
                spins += 1
                if spins < 4096 { ember_cpu_relax() } else { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    private func ensureWorkers(_ needed: Int) {
        guard workerCount < needed else { return }
        // The generation a new worker starts from is read here, before the caller publishes its
        // job, so the worker cannot mistake that job for one it has already seen.
        let current = state.load(ordering: .acquiring) >> 16
        condition.lock()
        while workerCount < needed {
            let index = workerCount + 1                      // participant 0 is the caller
            let thread = Thread { [unowned self] in self.workerLoop(participant: index, seen: current) }
            thread.name = "ember-worker-\(index)"
            thread.start()
            workerCount += 1
        }
        condition.unlock()
    }

    private func workerLoop(participant: Int, seen start: Int) {
        var seen = start
        while true {
            let s = waitForJob(after: seen)
            seen = s >> 16
            let participants = s & 0xFFFF
            guard participant < participants else { continue }
            runPart()
            finished.add(1, ordering: .releasing)
        }
    }

    /// Claims and runs iterations until none are left; a function of its own so that its reference to `job` is released
    /// before the worker reports itself finished (the caller then clears the job).
    @inline(never)
    private func runPart() {
        guard let body = job else { return }
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= iterations { break }
            body(i)
        }
    }

    /// Spins for ``spinDuration``, then blocks, until `state` carries a generation other than `seen`.
    private func waitForJob(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let s = state.load(ordering: .acquiring)
            if s >> 16 != seen { return s }
            spins += 1
            if spins & 255 == 0, DispatchTime.now().uptimeNanoseconds - start > Self.spinDuration { break }
            ember_cpu_relax()
        }
        condition.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        var s = state.load(ordering: .sequentiallyConsistent)
        while s >> 16 == seen {
            condition.wait()
            s = state.load(ordering: .sequentiallyConsistent)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        condition.unlock()
        return s
    }
}
