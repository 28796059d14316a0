import CEmberMPI
import EmberCore
import Foundation

/// How ``ProcessGroup/allReduce(_:op:)`` combines the ranks' tensors (`torch.distributed.ReduceOp`).
public enum ReduceOp: String, Sendable {
    case sum, avg, max, min
}

/// The processes training together and their collective operations, as PyTorch's
/// `torch.distributed` process group: `rank` (this process, from 0), `worldSize` (how many), and
/// in-place collectives on tensors. Every rank must call the same collectives in the same order.
///
/// Two backends:
/// - ``single`` — one process (`worldSize` 1): every collective leaves the tensor as it is, so a
///   program written for several processes runs unchanged without MPI;
/// - ``mpi()`` — MPI, loaded at run time (Open MPI's `libmpi.so.40` or MPICH's `libmpich.so.12`), for
///   programs started by `mpirun -np N`. All MPI calls run on one serial queue, so the asynchronous
///   all-reduce of ``allReduceAsync(_:op:)`` proceeds while the caller keeps computing.
///
/// ```swift
/// let group = try ProcessGroup.fromEnvironment()     // MPI under mpirun, else single
/// let t = Tensor([Float(group.rank + 1)])
/// try group.allReduce(t, op: .sum)                    // [3] on both ranks of `mpirun -np 2`
/// ```
/// Tensors must be contiguous and of dtype float32, float64, bfloat16 (reduced in float32) or int64;
/// tensors on another device are copied to the CPU and back.
///
/// Source: https://pytorch.org/docs/stable/distributed.html
public final class ProcessGroup: @unchecked Sendable {
    /// This process's rank, from 0.
    public let rank: Int
    /// The number of processes.
    public let worldSize: Int
    /// "single" or the MPI implementation ("Open MPI", "MPICH").
    public let backendName: String
    let usesMPI: Bool

    init(rank: Int, worldSize: Int, backendName: String, usesMPI: Bool) {
        self.rank = rank
        self.worldSize = worldSize
        self.backendName = backendName
        self.usesMPI = usesMPI
    }

    /// One process: rank 0 of 1; every collective is a no-op.
    public static let single = ProcessGroup(rank: 0, worldSize: 1, backendName: "single", usesMPI: false)

    /// The MPI group of every process of the job (`MPI_COMM_WORLD`), initialising MPI on first use.
    /// - Throws: ``EmberError`` when no MPI library can be loaded (the message says what to install)
    ///   or MPI fails to start.
    public static func mpi() throws -> ProcessGroup {
        try MPIRuntime.shared.group()
    }

    /// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec` of Open MPI or MPICH).
    public static var isLaunchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"].contains { env[$0] != nil }
    }

    /// ``mpi()`` when started by an MPI launcher, else ``single``.
    /// - Throws: what ``mpi()`` throws.
    public static func fromEnvironment() throws -> ProcessGroup {
        isLaunchedByMPI ? try mpi() : single
    }

    // MARK: - Collectives

    /// Combines `tensor` across ranks in place (`dist.all_reduce(tensor, op)`); `.avg` divides the
    /// sum by ``worldSize`` (floating-point dtypes only).
    /// - Throws: ``EmberError`` for an unsupported dtype, a non-contiguous tensor or an MPI failure.
    public func allReduce(_ tensor: Tensor, op: ReduceOp = .sum) throws {
        try allReduceAsync(tensor, op: op).wait()
    }

    /// Starts ``allReduce(_:op:)`` and returns at once; `wait()` on the result before reading
    /// `tensor` (`dist.all_reduce(…, async_op=True)`). Calls are carried out in the order they were made.
    public func allReduceAsync(_ tensor: Tensor, op: ReduceOp = .sum) -> DistributedWork {
        let work = DistributedWork()
        do {
            let buffer = try CollectiveBuffer(tensor, op: op)
            guard usesMPI, worldSize > 1 else {
                work.finish = { try buffer.finish(worldSize: self.worldSize, reduced: false) }
                work.complete(nil)
                return work
            }
            work.finish = { try buffer.finish(worldSize: self.worldSize, reduced: true) }
            MPIRuntime.shared.async(work) { try MPIRuntime.check(buffer.reduce(op: op), "all_reduce") }
        } catch {
            work.complete(error)
        }
        return work
    }

    /// Copies rank `root`'s `tensor` into every rank's `tensor` (`dist.broadcast(tensor, src=root)`).
    /// - Throws: ``EmberError`` for a bad root, a non-contiguous tensor or an MPI failure.
    public func broadcast(_ tensor: Tensor, from root: Int = 0) throws {
        guard root >= 0 && root < worldSize else {
            throw EmberError(.value, "Invalid rank \(root) for broadcast in a group of size \(worldSize)")
        }
        guard usesMPI, worldSize > 1 else { return }
        let buffer = try CollectiveBuffer(tensor, op: nil)
        try MPIRuntime.shared.sync { try MPIRuntime.check(buffer.broadcast(root: root), "broadcast") }
        try buffer.finish(worldSize: worldSize, reduced: false)
    }

    /// Every rank's `tensor`, in rank order (`dist.all_gather`): ``worldSize`` new tensors of
    /// `tensor`'s shape and dtype, on its device.
    /// - Throws: ``EmberError`` for a non-contiguous tensor or an MPI failure.
    public func allGather(_ tensor: Tensor) throws -> [Tensor] {
        guard usesMPI, worldSize > 1 else { return [tensor.clone()] }
        let cpu = tensor.device == .cpu && tensor.isContiguous ? tensor : tensor.to(.cpu).contiguous()
        let bytes = cpu.numel * cpu.dtype.itemSize
        let gathered = Tensor.empty([worldSize] + cpu.shape, dtype: cpu.dtype)
        try MPIRuntime.shared.sync {
            try MPIRuntime.check(ember_mpi_allgather(cpu.rawPointer, gathered.rawPointer, Int64(bytes)), "all_gather")
        }
        return (0..<worldSize).map { gathered.select(0, $0).to(tensor.device) }
    }

    /// Waits until every rank has called `barrier()` (`dist.barrier()`).
    /// - Throws: ``EmberError`` for an MPI failure.
    public func barrier() throws {
        guard usesMPI, worldSize > 1 else { return }
        try MPIRuntime.shared.sync { try MPIRuntime.check(ember_mpi_barrier(), "barrier") }
    }

    /// Whether every rank passed `true` (a logical AND across ranks, e.g. "every rank wants to stop").
    public func all(_ flag: Bool) throws -> Bool {
        let t = Tensor([flag ? Int64(1) : 0])
        try allReduce(t, op: .min)
        return t.item() != 0
    }

    /// Whether any rank passed `true`.
    public func any(_ flag: Bool) throws -> Bool {
        let t = Tensor([flag ? Int64(1) : 0])
        try allReduce(t, op: .max)
        return t.item() != 0
    }
}

/// A collective started by ``ProcessGroup/allReduceAsync(_:op:)`` (PyTorch's `Work`).
public final class DistributedWork: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?
    private var waited = false
    /// Runs on the waiting thread once the transfer is done (copies back, divides for `.avg`).
    var finish: (() throws -> Void)?
    /// Seconds the transfer itself took on the MPI queue (0 for a single process).
    public private(set) var transferSeconds = 0.0

    func complete(_ error: Error?, seconds: Double = 0) {
        self.error = error
        transferSeconds = seconds
        done.signal()
    }

    /// Blocks until the collective is done and its result is in the tensor.
    /// - Throws: the collective's ``EmberError``.
    public func wait() throws {
        guard !waited else { if let error { throw error }; return }
        waited = true
        done.wait()
        if let error { throw error }
        try finish?()
        finish = nil
    }
}
