import EmberCore
import Foundation

/// Base class of learning-rate schedulers (`torch.optim.lr_scheduler.LRScheduler`).
///
/// Creating a scheduler records each group's `"initial_lr"` (when `lastEpoch` is -1) and performs
/// the initial step, which sets `lastEpoch` to 0 and the groups' lr to the epoch-0 value. Call
/// ``step()`` after `optimizer.step()`; ``getLastLR()`` returns the lrs it set.
/// Subclasses implement ``computeLR()`` (PyTorch's `get_lr`, in its chainable form).
/// Errors: resuming (`lastEpoch` ≥ 0) without `"initial_lr"` in every group raises PyTorch's KeyError
/// text as a runtime error. Source: torch/optim/lr_scheduler.py (PyTorch 2.13).
open class LRScheduler {
    public let optimizer: Optimizer
    /// Index of the last epoch (step) seen; 0 after construction.
    public internal(set) var lastEpoch: Int
    /// Each group's `"initial_lr"`.
    public internal(set) var baseLRs: [Double]
    /// Number of ``step()`` calls including the initial one (PyTorch's `_step_count`).
    public internal(set) var stepCount = 0
    /// True only during the initial step made by the initializer.
    public internal(set) var isInitial = false
    private var lastLRs: [Double] = []

    /// Attaches to `optimizer` and performs the initial step.
    public init(_ optimizer: Optimizer, lastEpoch: Int = -1) {
        self.optimizer = optimizer
        if lastEpoch == -1 {
            for g in optimizer.paramGroups where g.options["initial_lr"] == nil {
                g.options["initial_lr"] = g.options["lr"] ?? .double(g.lr)
            }
        } else {
            for (i, g) in optimizer.paramGroups.enumerated() where g.options["initial_lr"] == nil {
                EmberError(.runtime, "param 'initial_lr' is not specified in param_groups[\(i)] when resuming scheduler with last_epoch >= 0.").raise()
            }
        }
        baseLRs = optimizer.paramGroups.map { $0.double("initial_lr") ?? $0.lr }
        self.lastEpoch = lastEpoch
        isInitial = true
        step()
        isInitial = false
    }

    /// The learning rates for ``lastEpoch``, one per group (PyTorch's `get_lr()`).
    open func computeLR() -> [Double] { currentLRs }

    /// The groups' current `lr` values.
    public var currentLRs: [Double] { optimizer.paramGroups.map { $0.lr } }

    /// Advances one epoch/step and writes the new learning rates into the optimizer's groups.
    public func step() {
        stepCount += 1
        lastEpoch += 1
        let values = computeLR()
        for (g, lr) in zip(optimizer.paramGroups, values) { g.lr = lr }
        lastLRs = currentLRs
    }

    /// The learning rates set by the last ``step()`` (`get_last_lr()`).
    public func getLastLR() -> [Double] { lastLRs }
}

/// `LambdaLR`: lr = initial_lr · lrLambda(epoch), one lambda for all groups or one per group.
/// Errors: a lambda list whose length differs from the group count raises PyTorch's ValueError
/// ("Expected 2 lr_lambdas, but got 1"). Source: torch/optim/lr_scheduler.py `LambdaLR`.
public final class LambdaLR: LRScheduler {
    private let lambdas: [(Int) -> Double]

    public init(_ optimizer: Optimizer, lrLambda: @escaping (Int) -> Double, lastEpoch: Int = -1) {
        lambdas = Array(repeating: lrLambda, count: optimizer.paramGroups.count)
        super.init(optimizer, lastEpoch: lastEpoch)
    }

    public init(_ optimizer: Optimizer, lrLambdas: [(Int) -> Double], lastEpoch: Int = -1) {
        if lrLambdas.count != optimizer.paramGroups.count {
            EmberError(.value, "Expected \(optimizer.paramGroups.count) lr_lambdas, but got \(lrLambdas.count)").raise()
        }
        lambdas = lrLambdas.count == optimizer.paramGroups.count
            ? lrLambdas : Array(repeating: lrLambdas.first ?? { _ in 1 }, count: optimizer.paramGroups.count)
        super.init(optimizer, lastEpoch: lastEpoch)
    }

    public override func computeLR() -> [Double] {
        zip(lambdas, baseLRs).map { f, base in base * f(lastEpoch) }
    }
}

/// `StepLR`: multiplies the lr by `gamma` every `stepSize` epochs (chainable form: the current lr
/// times gamma when `lastEpoch` is a positive multiple of `stepSize`).
/// Source: torch/optim/lr_scheduler.py `StepLR`.
public final class StepLR: LRScheduler {
    public let stepSize: Int
    public let gamma: Double

    public init(_ optimizer: Optimizer, stepSize: Int, gamma: Double = 0.1, lastEpoch: Int = -1) {
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(optimizer, lastEpoch: lastEpoch)
    }

    public override func computeLR() -> [Double] {
        if lastEpoch == 0 || lastEpoch % stepSize != 0 { return currentLRs }
        return currentLRs.map { $0 * gamma }
    }
}

/// `CosineAnnealingLR`: η_t = η_min + (η_max − η_min)(1 + cos(π·t/T_max))/2, computed with
/// PyTorch's recursive (chainable) formula so the values match its floating-point results.
/// Source: torch/optim/lr_scheduler.py `CosineAnnealingLR`; Loshchilov & Hutter, SGDR.
public final class CosineAnnealingLR: LRScheduler {
    public let tMax: Int
    public let etaMin: Double

    public init(_ optimizer: Optimizer, tMax: Int, etaMin: Double = 0, lastEpoch: Int = -1) {
        self.tMax = tMax
        self.etaMin = etaMin
        super.init(optimizer, lastEpoch: lastEpoch)
    }

    public override func computeLR() -> [Double] {
        let t = Double(lastEpoch), T = Double(tMax)
        if isInitial { return currentLRs }
        if stepCount == 1 && lastEpoch > 0 {
            return baseLRs.map { etaMin + ($0 - etaMin) * (1 + Foundation.cos(t * Double.pi / T)) / 2 }
        }
        if (lastEpoch - 1 - tMax) % (2 * tMax) == 0 {
            return zip(baseLRs, currentLRs).map { base, lr in
                lr + (base - etaMin) * (1 - Foundation.cos(Double.pi / T)) / 2
            }
        }
        return currentLRs.map { lr in
            (1 + Foundation.cos(Double.pi * t / T)) / (1 + Foundation.cos(Double.pi * (t - 1) / T)) * (lr - etaMin) + etaMin
        }
    }
}
