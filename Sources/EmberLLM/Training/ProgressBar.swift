import Foundation

/// Where a run stands after an optimizer step; ``TrainingRun`` reports one per step.
public struct TrainingProgress: Sendable, Equatable {
    /// Current epoch, from 1.
    public var epoch: Int
    /// Epochs of the whole run.
    public var numEpochs: Int
    /// Steps done in this epoch, from 1.
    public var step: Int
    /// Steps per epoch (`len(train_loader)`).
    public var stepsPerEpoch: Int
    /// The step's global index (from 0, as the book's `global_step`).
    public var globalStep: Int
    /// The step's training loss (before its update).
    public var loss: Double
    /// Tokens trained on in this process.
    public var sessionTokens: Int
    /// Steps done in this process.
    public var sessionSteps: Int
    /// Seconds since this process began training (evaluations and samples included).
    public var elapsed: Double

    /// A progress report (see the properties).
    public init(epoch: Int, numEpochs: Int, step: Int, stepsPerEpoch: Int, globalStep: Int, loss: Double,
                sessionTokens: Int, sessionSteps: Int, elapsed: Double) {
        self.epoch = epoch
        self.numEpochs = numEpochs
        self.step = step
        self.stepsPerEpoch = stepsPerEpoch
        self.globalStep = globalStep
        self.loss = loss
        self.sessionTokens = sessionTokens
        self.sessionSteps = sessionSteps
        self.elapsed = elapsed
    }

    /// Input tokens per second over this process.
    public var tokensPerSecond: Double { elapsed > 0 ? Double(sessionTokens) / elapsed : 0 }

    /// Seconds until the last epoch ends, at this process's average pace.
    public var secondsLeft: Double {
        let remaining = (numEpochs - epoch) * stepsPerEpoch + (stepsPerEpoch - step)
        return sessionSteps > 0 ? elapsed / Double(sessionSteps) * Double(remaining) : 0
    }
}

/// Renders ``TrainingProgress`` as one line: a bar for a terminal (redrawn in place with `\r`),
/// or a plain line for logs and pipes.
///
/// `Ep 3/10 [#######-------------]  4/9  loss 6.012  1,234 tok/s  ETA 1:02:07`
public struct ProgressBar: Sendable {
    /// Characters of the bar between the brackets.
    public var width: Int

    /// - Parameter width: bar characters (default 20).
    public init(width: Int = 20) { self.width = width }

    /// The bar line, without a line ending.
    public func line(_ p: TrainingProgress) -> String {
        let filled = p.stepsPerEpoch > 0 ? min(width, width * p.step / p.stepsPerEpoch) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let stepWidth = String(p.stepsPerEpoch).count
        let step = String(repeating: " ", count: max(0, stepWidth - String(p.step).count)) + String(p.step)
        return "Ep \(p.epoch)/\(p.numEpochs) [\(bar)] \(step)/\(p.stepsPerEpoch)  " + Self.details(p)
    }

    /// A plain line (no bar) for a non-terminal output.
    public func plainLine(_ p: TrainingProgress) -> String {
        "progress: epoch \(p.epoch)/\(p.numEpochs), step \(p.step)/\(p.stepsPerEpoch)  " + Self.details(p)
    }

    static func details(_ p: TrainingProgress) -> String {
        String(format: "loss %.3f  ", p.loss) + grouped(Int(p.tokensPerSecond.rounded())) + " tok/s  ETA " + duration(p.secondsLeft)
    }

    /// `m:ss` or `h:mm:ss`.
    public static func duration(_ seconds: Double) -> String {
        let s = seconds.isFinite ? max(0, Int(seconds.rounded())) : 0
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }
}
