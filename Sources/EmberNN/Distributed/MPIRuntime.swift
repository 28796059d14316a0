import CEmberMPI
import EmberCore
import Foundation

/// The process's MPI: loaded and initialised once, every call made from one serial queue (MPI is
/// initialised with `MPI_THREAD_SERIALIZED`), finalised when the process exits.
final class MPIRuntime: @unchecked Sendable {
    static let shared = MPIRuntime()

    private let queue = DispatchQueue(label: "ember.mpi")
    private let lock = NSLock()
    private var world: Result<ProcessGroup, EmberError>?

    /// The world group, initialising MPI on first use.
    func group() throws -> ProcessGroup {
        lock.lock()
        defer { lock.unlock() }
        if let world { return try world.get() }
        let result: Result<ProcessGroup, EmberError> = queue.sync {
            guard ember_mpi_load() == 0 else {
                return .failure(EmberError(.runtime, "MPI is not available: \(String(cString: ember_mpi_last_error()))"))
            }
            var rank: Int32 = 0, size: Int32 = 0
            guard ember_mpi_init(&rank, &size) == 0 else {
                return .failure(EmberError(.runtime, "MPI failed to start: \(String(cString: ember_mpi_last_error()))"))
            }
            atexit { MPIRuntime.shared.finalize() }
            // The ranks on this machine share its cores (as torchrun's OMP_NUM_THREADS does).
            let env = ProcessInfo.processInfo.environment
            if let local = (env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? env["MPI_LOCALNRANKS"]).flatMap(Int.init), local > 1 {
                Threads.count = max(1, ProcessInfo.processInfo.activeProcessorCount / local)
            }
            let name = String(cString: ember_mpi_implementation())
            return .success(ProcessGroup(rank: Int(rank), worldSize: Int(size), backendName: name, usesMPI: true))
        }
        world = result
        return try result.get()
    }

    /// `MPI_Finalize`, after every queued call (at exit).
    func finalize() {
        queue.sync { _ = ember_mpi_finalize() }
    }

    /// Ends every rank of the job (`MPI_Abort`), for a rank that cannot go on: the others would
    /// otherwise wait for it in their next collective forever.
    func abort(code: Int32) {
        _ = ember_mpi_abort(code)
    }

    /// Runs `body` on the MPI queue and waits for it.
    func sync(_ body: () throws -> Void) throws {
        try queue.sync { try body() }
    }

    /// Runs `body` on the MPI queue after the calls queued before it; `work` completes with its error.
    func async(_ work: DistributedWork, _ body: @escaping () throws -> Void) {
        let box = UncheckedBox(body)
        queue.async {
            let start = DispatchTime.now().uptimeNanoseconds
            var failure: Error?
            do { try box.value() } catch { failure = error }
            work.complete(failure, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    /// Turns an `ember_mpi_*` status into an error naming the collective.
    static func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else {
            throw EmberError(.runtime, "\(what) failed: \(String(cString: ember_mpi_last_error()))")
        }
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Tensor {
    /// Address of element 0 of a contiguous CPU tensor.
    var rawPointer: UnsafeMutableRawPointer {
        storage.data! + storageOffset * dtype.itemSize
    }
}

/// The CPU memory a collective works on for one tensor: the tensor's own memory when it is a
/// contiguous CPU float32/float64/int64 tensor, else a float32 (or int64) copy that ``finish(worldSize:reduced:)``
/// writes back.
final class CollectiveBuffer: @unchecked Sendable {
    let tensor: Tensor
    let buffer: Tensor
    let op: ReduceOp?
    let mpiType: ember_mpi_dtype

    init(_ tensor: Tensor, op: ReduceOp?) throws {
        self.tensor = tensor
        self.op = op
        let reduceDType: DType
        switch tensor.dtype {
        case .float32, .bfloat16, .float16: reduceDType = .float32; mpiType = EMBER_MPI_FLOAT32
        case .float64: reduceDType = .float64; mpiType = EMBER_MPI_FLOAT64
        case .int64: reduceDType = .int64; mpiType = EMBER_MPI_INT64
        default:
            guard op == nil else {
                throw EmberError(.type, "all_reduce supports float32, float64, bfloat16, float16 and int64 tensors, got \(tensor.dtype.scalarTypeName)")
            }
            reduceDType = tensor.dtype; mpiType = EMBER_MPI_BYTE
        }
        if op == .avg && !tensor.dtype.isFloatingPoint {
            throw EmberError(.type, "ReduceOp.AVG needs a floating-point tensor, got \(tensor.dtype.scalarTypeName)")
        }
        if tensor.isMeta { throw EmberError(.runtime, "collectives need values; got a meta tensor") }
        if tensor.device == .cpu && tensor.isContiguous && tensor.dtype == reduceDType {
            buffer = tensor
        } else {
            buffer = tensor.to(.cpu).to(reduceDType).contiguous().clone()
        }
    }

    /// MPI all-reduce of the buffer (`.avg` reduces as a sum; ``finish(worldSize:reduced:)`` divides).
    func reduce(op: ReduceOp) -> Int32 {
        let mpiOp: ember_mpi_op
        switch op {
        case .sum, .avg: mpiOp = EMBER_MPI_SUM
        case .max: mpiOp = EMBER_MPI_MAX
        case .min: mpiOp = EMBER_MPI_MIN
        }
        return ember_mpi_allreduce(buffer.rawPointer, Int64(buffer.numel), mpiType, mpiOp)
    }

    func broadcast(root: Int) -> Int32 {
        ember_mpi_broadcast(buffer.rawPointer, Int64(buffer.numel * buffer.dtype.itemSize), Int32(root))
    }

    /// Divides for `.avg`, then copies the result into the tensor when the buffer is a copy.
    func finish(worldSize: Int, reduced: Bool) throws {
        if op == .avg && reduced && worldSize > 1 {
            let n = buffer.numel
            if buffer.dtype == .float64 {
                let p = buffer.rawPointer.assumingMemoryBound(to: Double.self)
                for i in 0..<n { p[i] /= Double(worldSize) }
            } else {
                let p = buffer.rawPointer.assumingMemoryBound(to: Float.self)
                for i in 0..<n { p[i] /= Float(worldSize) }
            }
        }
        if buffer !== tensor {
            tensor.copy_(buffer.to(tensor.dtype).to(tensor.device))
        }
        buffer.storage.bumpVersion()
    }
}
