import EmberCore
import Foundation

/// Data-parallel training, as PyTorch's `nn.parallel.DistributedDataParallel`: every rank holds the
/// same model, trains on its own share of each batch, and after `backward()` every parameter's
/// gradient is the average over the ranks — so the optimizer steps keep the replicas equal.
///
/// - On creation, rank 0's parameters and buffers are broadcast to every rank (after checking that
///   every rank has the same parameter shapes).
/// - Gradients are reduced in buckets of about `bucketCapMB` (the first one ~1 MB, as PyTorch's),
///   filled in reverse parameter order — the order backward produces gradients — and the same on
///   every rank. A bucket's all-reduce starts as soon as its last gradient has been accumulated (a
///   post-accumulate-grad hook), while the rest of the backward pass runs; the end of `backward()`
///   waits for all of them and writes the averages into `.grad`.
/// - ``noSync(_:)`` skips the reduction (gradient accumulation): gradients add up locally and the
///   next synchronised backward reduces the sum.
/// - A parameter that gets no gradient on some rank cannot be reduced: instead of waiting forever,
///   every rank raises an error naming the parameters (PyTorch's "Expected to have finished
///   reduction…" error, which it raises at the next forward).
///
/// The wrapped model is the child `module` (state-dict keys `module.…`, as in PyTorch). Calling
/// the model directly works as well as calling the wrapper: the hooks are on its parameters.
///
/// ```swift
/// let group = try ProcessGroup.fromEnvironment()
/// let ddp = try DistributedDataParallel(model, group: group)
/// let loss = crossEntropy(ddp(inputs), targets)
/// loss.backward()            // gradients averaged over the ranks when this returns
/// optimizer.step()
/// ```
/// Errors during the reduction are raised as ``EmberError``s from `backward()` (catchable with
/// ``withErrorCapture(_:)``).
///
/// Source: https://pytorch.org/docs/stable/generated/torch.nn.parallel.DistributedDataParallel.html
/// and https://pytorch.org/docs/stable/notes/ddp.html
public final class DistributedDataParallel<Wrapped: Module>: Module {
    /// The model being trained (PyTorch's `ddp.module`).
    @Child public var module: Wrapped
    /// The ranks training together.
    public let group: ProcessGroup
    /// The gradient buckets, in reduction order (each: parameter names, element count).
    public var bucketLayout: [(names: [String], elements: Int)] { buckets.map { ($0.names, $0.elements) } }

    /// Time spent reducing gradients since creation: `transferSeconds` is the all-reduces' own
    /// time, `waitSeconds` the part of it the end of `backward()` waited for — the rest was hidden
    /// behind the backward pass.
    public private(set) var communication = (transferSeconds: 0.0, waitSeconds: 0.0, rounds: 0)

    private let buckets: [GradientBucket]
    private let slots: [ObjectIdentifier: (bucket: Int, index: Int)]
    private var hookHandles: [HookHandle] = []
    private var noSyncDepth = 0
    private var round: ReductionRound?

    /// PyTorch's default first-bucket size (`dist._DEFAULT_FIRST_BUCKET_BYTES`).
    static var firstBucketBytes: Int { 1 << 20 }

    /// Wraps `module` for data-parallel training over `group`.
    /// - Parameters:
    ///   - bucketCapMB: the size of a gradient bucket in MiB (PyTorch's `bucket_cap_mb`, 25).
    /// - Throws: ``EmberError`` when the ranks' parameters differ in number or shape, or a collective fails.
    public init(_ module: Wrapped, group: ProcessGroup, bucketCapMB: Double = 25) throws {
        self.group = group
        let named = module.namedParameters().filter { $0.1.requiresGrad }
        // Buckets: reverse registration order; split by size and by reduction dtype.
        var buckets: [GradientBucket] = []
        var current: [(String, Tensor)] = []
        var currentBytes = 0
        var cap = Self.firstBucketBytes
        func close() {
            guard !current.isEmpty else { return }
            buckets.append(GradientBucket(index: buckets.count, parameters: current))
            current = []
            currentBytes = 0
            cap = Int(bucketCapMB * 1024 * 1024)
        }
        for (name, p) in named.reversed() {
            if let first = current.first, GradientBucket.reductionDType(first.1) != GradientBucket.reductionDType(p) { close() }
            current.append((name, p))
            currentBytes += p.numel * p.dtype.itemSize
            if currentBytes >= cap { close() }
        }
        close()
        self.buckets = buckets
        var slots: [ObjectIdentifier: (Int, Int)] = [:]
        for b in buckets { for (i, p) in b.tensors.enumerated() { slots[ObjectIdentifier(p)] = (b.index, i) } }
        self.slots = slots
        self._module = Child(wrappedValue: module)
        super.init()
        try verifyAndBroadcast()
        for b in buckets {
            for p in b.tensors {
                hookHandles.append(p.registerPostAccumulateGradHook { [weak self] p in self?.gradientReady(p) })
            }
        }
    }

    deinit {
        for h in hookHandles { h.remove() }
    }

    /// Checks that every rank has the same parameters (count and shapes), then copies rank 0's
    /// parameters and buffers to the others.
    private func verifyAndBroadcast() throws {
        guard group.worldSize > 1 else { return }
        let params = module.namedParameters()
        var signature: Int64 = Int64(params.count)
        for (_, p) in params { for d in p.shape { signature = signature &* 31 &+ Int64(d) } }
        let low = Tensor([signature]), high = Tensor([signature])
        try group.allReduce(low, op: .min)
        try group.allReduce(high, op: .max)
        guard low.item() == high.item() else {
            throw EmberError(.runtime, "DDP expects the same model on every rank, but the parameter shapes differ across ranks (rank \(group.rank) has \(params.count) parameters)")
        }
        try noGrad {
            for (_, p) in params { try group.broadcast(p, from: 0) }
            for (_, b) in module.namedBuffers() { try group.broadcast(b, from: 0) }
        }
    }

    /// Runs `body` (forward and backward) without reducing gradients, as `with ddp.no_sync():`;
    /// gradients accumulate locally until a backward outside `noSync` reduces them.
    public func noSync<R>(_ body: () throws -> R) rethrows -> R {
        noSyncDepth += 1
        defer { noSyncDepth -= 1 }
        return try body()
    }

    /// Calls the wrapped model (`ddp(x)` = `ddp.module(x)`).
    public func forward<R>(_ body: (Wrapped) throws -> R) rethrows -> R {
        try body(module)
    }

    // MARK: - Reduction

    /// A parameter's gradient has been accumulated.
    private func gradientReady(_ p: Tensor) {
        guard noSyncDepth == 0, let slot = slots[ObjectIdentifier(p)] else { return }
        if round == nil {
            round = ReductionRound(buckets: buckets)
            Autograd.queueCallback { [weak self] in
                guard let self else { return }
                do { try self.finishReduction() } catch let e as EmberError { e.raise() } catch {
                    EmberError(.runtime, "\(error)").raise()
                }
            }
        }
        guard let round else { return }
        round.markReady(bucket: slot.bucket, index: slot.index)
        while round.nextToLaunch < buckets.count && round.isComplete(round.nextToLaunch) {
            launch(round.nextToLaunch, complete: true)
        }
    }

    private func launch(_ index: Int, complete: Bool) {
        guard let round else { return }
        let bucket = buckets[index]
        let flat = bucket.pack(complete: complete)
        round.flats[index] = flat
        round.works[index] = group.allReduceAsync(flat, op: .sum)
        round.nextToLaunch = index + 1
    }

    /// Launches what is left (incomplete buckets flagged), waits for every bucket and writes the
    /// averaged gradients, or throws when some rank missed a gradient. Runs at the end of backward.
    func finishReduction() throws {
        guard let round else { return }
        defer { self.round = nil }
        while round.nextToLaunch < buckets.count {
            launch(round.nextToLaunch, complete: round.isComplete(round.nextToLaunch))
        }
        var firstError: Error?
        let waitStart = DispatchTime.now().uptimeNanoseconds
        for w in round.works { do { try w?.wait() } catch { if firstError == nil { firstError = error } } }
        communication.waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - waitStart) / 1e9
        communication.transferSeconds += round.works.reduce(0) { $0 + ($1?.transferSeconds ?? 0) }
        communication.rounds += 1
        if let firstError { throw firstError }
        var missing: [String] = []
        var incompleteElsewhere = false
        for (i, b) in buckets.enumerated() {
            guard let flat = round.flats[i] else { continue }
            let contributions = b.flag(of: flat)
            if contributions != Double(group.worldSize) {
                if round.isComplete(i) { incompleteElsewhere = true } else { missing += round.missingNames(bucket: b) }
            }
        }
        guard missing.isEmpty && !incompleteElsewhere else {
            let mine = missing.isEmpty ? "none on this rank (another rank missed some)" : missing.joined(separator: ", ")
            throw EmberError(.runtime, "Expected to have finished reduction in the prior iteration before starting a new one. This error indicates that your module has parameters that were not used in producing loss on some rank, so their gradients cannot be averaged. Parameters which did not receive grad for rank \(group.rank): \(mine). Make sure every parameter that requires grad takes part in the loss on every rank, or freeze it (requiresGrad = false) before wrapping the model.")
        }
        for (i, b) in buckets.enumerated() {
            if let flat = round.flats[i] { b.unpack(flat, worldSize: group.worldSize) }
        }
    }
}

extension DistributedDataParallel: UnaryLayer where Wrapped: UnaryLayer {
    /// `ddp(x)`: the wrapped model's forward.
    public func callAsFunction(_ x: Tensor) -> Tensor { module(x) }
}

/// The reduction of one backward pass: which gradients have arrived, what has been launched.
final class ReductionRound {
    var pending: [Int]
    var arrived: [[Bool]]
    var nextToLaunch = 0
    var flats: [Tensor?]
    var works: [DistributedWork?]

    init(buckets: [GradientBucket]) {
        pending = buckets.map { $0.tensors.count }
        arrived = buckets.map { [Bool](repeating: false, count: $0.tensors.count) }
        flats = [Tensor?](repeating: nil, count: buckets.count)
        works = [DistributedWork?](repeating: nil, count: buckets.count)
    }

    func markReady(bucket: Int, index: Int) {
        guard !arrived[bucket][index] else { return }
        arrived[bucket][index] = true
        pending[bucket] -= 1
    }

    func isComplete(_ bucket: Int) -> Bool { pending[bucket] == 0 }

    func missingNames(bucket: GradientBucket) -> [String] {
        zip(bucket.names, arrived[bucket.index]).filter { !$0.1 }.map { $0.0 }
    }
}

/// Parameters whose gradients are reduced together in one flat buffer (plus one trailing element:
/// 1 when this rank had every gradient of the bucket, so the sum counts the ranks that did).
final class GradientBucket {
    let index: Int
    let names: [String]
    let tensors: [Tensor]
    let offsets: [Int]
    let elements: Int
    let dtype: DType

    init(index: Int, parameters: [(String, Tensor)]) {
        self.index = index
        names = parameters.map { $0.0 }
        tensors = parameters.map { $0.1 }
        var offsets: [Int] = [], total = 0
        for (_, p) in parameters { offsets.append(total); total += p.numel }
        self.offsets = offsets
        elements = total
        dtype = Self.reductionDType(parameters[0].1)
    }

    /// float64 parameters reduce in float64; every other floating dtype in float32.
    static func reductionDType(_ p: Tensor) -> DType { p.dtype == .float64 ? .float64 : .float32 }

    /// The gradients in one flat CPU tensor (zeros where a gradient is missing) and the flag.
    func pack(complete: Bool) -> Tensor {
        let flat = Tensor.zeros([elements + 1], dtype: dtype)
        for (i, p) in tensors.enumerated() {
            guard let g = p.grad else { continue }
            let src = g.device == .cpu && g.isContiguous && g.dtype == dtype ? g : g.to(.cpu).to(dtype).contiguous()
            let bytes = p.numel * dtype.itemSize
            (flat.rawPointer + offsets[i] * dtype.itemSize).copyMemory(from: src.rawPointer, byteCount: bytes)
        }
        if dtype == .float64 {
            flat.rawPointer.assumingMemoryBound(to: Double.self)[elements] = complete ? 1 : 0
        } else {
            flat.rawPointer.assumingMemoryBound(to: Float.self)[elements] = complete ? 1 : 0
        }
        return flat
    }

    /// How many ranks had the whole bucket (the reduced flag).
    func flag(of flat: Tensor) -> Double {
        dtype == .float64 ? flat.rawPointer.assumingMemoryBound(to: Double.self)[elements]
            : Double(flat.rawPointer.assumingMemoryBound(to: Float.self)[elements])
    }

    /// Writes sum / worldSize into each parameter's `.grad`.
    func unpack(_ flat: Tensor, worldSize: Int) {
        if dtype == .float64 {
            let p = flat.rawPointer.assumingMemoryBound(to: Double.self)
            for i in 0..<elements { p[i] /= Double(worldSize) }
        } else {
            let p = flat.rawPointer.assumingMemoryBound(to: Float.self)
            for i in 0..<elements { p[i] /= Float(worldSize) }
        }
        for (i, p) in tensors.enumerated() {
            guard let g = p.grad else { continue }
            let slice = Tensor(storage: flat.storage, dtype: dtype, shape: g.shape, storageOffset: offsets[i])
            if g.device == .cpu && g.isContiguous && g.dtype == dtype {
                g.rawPointer.copyMemory(from: slice.rawPointer, byteCount: g.numel * dtype.itemSize)
                g.storage.bumpVersion()
            } else {
                g.copy_(slice.to(g.dtype).to(g.device))
            }
        }
    }
}
