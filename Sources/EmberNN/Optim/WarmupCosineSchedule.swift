import Foundation

/// The learning-rate schedule of the book's appendix D: linear warm-up from `initialLR` to
/// `peakLR` over `warmupSteps`, then cosine decay from `peakLR` to `minLR` at `totalSteps`.
///
/// For global step `s` (0-based, one per batch), exactly as the appendix's `train_model` computes it:
/// ```
/// s < warmup:  lr = initial_lr + s · (peak_lr − initial_lr) / warmup_steps
/// otherwise:   progress = (s − warmup_steps) / (total_steps − warmup_steps)
///              lr = min_lr + (peak_lr − min_lr) · 0.5 · (1 + cos(π · progress))
/// ```
/// The appendix sets `group["lr"] = lr` on every group before the forward pass (``apply(to:step:)``)
/// and clips gradients to norm 1.0 from the end of warm-up on (``clipsGradients(atStep:)``).
/// Source: *Build a Large Language Model From Scratch*, appendix D (D.1–D.4).
public struct WarmupCosineSchedule: Sendable, Equatable {
    public var initialLR: Double
    public var peakLR: Double
    public var minLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    /// - Parameters: the appendix's `train_model` defaults are `initialLR` 3e-5 and `minLR` 1e-6; its
    ///   `peak_lr` is the optimizer's lr and `total_steps = len(train_loader) * n_epochs`.
    public init(initialLR: Double = 3e-5, peakLR: Double, minLR: Double = 1e-6, warmupSteps: Int, totalSteps: Int) {
        self.initialLR = initialLR
        self.peakLR = peakLR
        self.minLR = minLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The learning rate for 0-based global step `step`.
    public func lr(atStep step: Int) -> Double {
        if step < warmupSteps {
            let increment = (peakLR - initialLR) / Double(warmupSteps)
            return initialLR + Double(step) * increment
        }
        let progress = Double(step - warmupSteps) / Double(totalSteps - warmupSteps)
        return minLR + (peakLR - minLR) * 0.5 * (1 + Foundation.cos(Double.pi * progress))
    }

    /// Whether the appendix clips gradients at `step`: from the end of warm-up on. (The printed book
    /// tests `step > warmup_steps`; the repository's corrected code, followed here, uses `>=`.)
    public func clipsGradients(atStep step: Int) -> Bool { step >= warmupSteps }

    /// Sets every group's lr to ``lr(atStep:)`` and returns it.
    @discardableResult
    public func apply(to optimizer: Optimizer, step: Int) -> Double {
        let value = lr(atStep: step)
        for g in optimizer.paramGroups { g.lr = value }
        return value
    }
}
